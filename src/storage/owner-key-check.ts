import type { Database } from '../db/open.js';
import { ownerKeyOf } from '../db/generations.js';
import { storyOwnerKeyOf } from '../db/stories.js';
import { apiKeyRevoked, listenTo } from '../events/channels.js';

/**
 * Whether the key that owns a generation is still active, for `/videos`: revoking a key ends its video links too.
 * Every Range request of a player asks this, so the answers are cached per generation, and the cache forgets a
 * key's answers when its revocation is announced (the NOTIFY that also ends the key's sockets, sent in the
 * revoking transaction). So a link stops working in this process as soon as the revocation reaches it, as it did
 * when every request read the key.
 */
export interface OwnerKeyCheck {
  /** `name` is what a video is stored by: a generation's id, or `story-<id>` for a story's film. */
  isActive(name: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface OwnerKeyCheckOptions {
  /** Generations whose answer is kept; past that the oldest answers go first. @default 10000 */
  maxEntries?: number;
}

const STORY_PREFIX = 'story-';

export async function createOwnerKeyCheck(database: Database, options: OwnerKeyCheckOptions = {}): Promise<OwnerKeyCheck> {
  const maxEntries = options.maxEntries ?? 10_000;
  /** stored name → the owning key and whether it was active when read. */
  const answers = new Map<string, { keyId: string; active: boolean }>();
  /** Bumped by every revocation heard (and by a lost connection): a read begun before it is not kept. */
  let epoch = 0;
  const unlisten = await listenTo(
    database,
    apiKeyRevoked,
    ({ keyId }) => {
      epoch += 1;
      for (const [name, answer] of answers) if (answer.keyId === keyId) answers.delete(name);
    },
    // Revocations announced while the connection was down are lost: forget everything.
    () => {
      epoch += 1;
      answers.clear();
    },
  );
  return {
    async isActive(name) {
      const cached = answers.get(name);
      if (cached) return cached.active;
      const startedAt = epoch;
      const owner = await (name.startsWith(STORY_PREFIX)
        ? storyOwnerKeyOf(database.db, name.slice(STORY_PREFIX.length))
        : ownerKeyOf(database.db, name));
      // No generation (or no owning key): nothing is cached, nothing is refused here (the file lookup answers 404).
      if (!owner) return true;
      const active = owner.revokedAt === null;
      // A revocation heard while this read was in flight may be newer than what it read: answer it, keep nothing.
      if (epoch === startedAt) {
        if (answers.size >= maxEntries) answers.delete(answers.keys().next().value!);
        answers.set(name, { keyId: owner.keyId, active });
      }
      return active;
    },
    close: unlisten,
  };
}
