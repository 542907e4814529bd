-- A worker's claim (src/worker/claim.ts) in one round trip instead of seven.
--
-- reelql_lease_due picks and leases the most overdue generation no live worker holds: SKIP LOCKED passes over rows
-- other workers are claiming, a generation past its deadline is due at once (it must fail now, even when a retry
-- was scheduled later), and an unrecorded submit is left to its sender for the whole submit window, deadline or
-- not. `at_segmind` chooses between work that needs no submit slot (Segmind has it, it is past QUEUED, or it is past
-- its deadline) and new submits. The active statuses are those of src/generations/lifecycle.ts, written out as the
-- generations_due_idx predicate is, so the planner can use that index.
CREATE FUNCTION "reelql_lease_due"(
	"worker_id" text,
	"lease_ms" integer,
	"driving_ids" uuid[],
	"submit_window_ms" integer,
	"at_segmind" boolean
) RETURNS SETOF "generations" LANGUAGE sql VOLATILE AS $$
	UPDATE "generations" SET "lease_owner" = worker_id, "lease_expires_at" = now() + lease_ms * interval '1 millisecond'
	WHERE "id" = (
		SELECT g."id" FROM "generations" g
		WHERE g."status" IN ('QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING')
			AND (g."run_after" <= now() OR g."deadline_at" < now())
			AND (g."lease_expires_at" IS NULL OR g."lease_expires_at" < now())
			AND NOT (g."submit_started_at" IS NOT NULL AND g."segmind_request_id" IS NULL
				AND g."submit_started_at" > now() - submit_window_ms * interval '1 millisecond')
			AND g."id" <> ALL (driving_ids)
			AND CASE WHEN at_segmind
				THEN g."segmind_request_id" IS NOT NULL OR g."status" <> 'QUEUED' OR g."deadline_at" < now()
				ELSE g."segmind_request_id" IS NULL END
		ORDER BY g."run_after" LIMIT 1 FOR UPDATE SKIP LOCKED
	)
	RETURNING *
$$;
--> statement-breakpoint
-- The claim itself. It must stay a function rather than one statement: the in-flight and rate-limit counts are read
-- after the advisory lock is taken, and only a function's later statements (each with its own snapshot under READ
-- COMMITTED) see what the previous holder of the lock committed.
CREATE FUNCTION "reelql_claim_next"(
	"worker_id" text,
	"lease_ms" integer,
	"submit_key_id" text,
	"max_in_flight" integer,
	"submits_per_minute" integer,
	"driving" text,
	"submit_window_ms" integer,
	"prune_submits" boolean
) RETURNS SETOF "generations" LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	driving_ids uuid[] := coalesce(string_to_array(nullif(driving, ''), ',')::uuid[], '{}');
	in_flight integer;
	recent integer;
	claimed "generations";
BEGIN
	-- Work that needs no submit slot comes first.
	SELECT * INTO claimed FROM reelql_lease_due(worker_id, lease_ms, driving_ids, submit_window_ms, true);
	IF claimed."id" IS NOT NULL THEN
		RETURN NEXT claimed;
		RETURN;
	END IF;

	-- A new submit: the in-flight cap and the per-minute rate limit are shared by every worker, so they are checked
	-- under one lock, and the slot is taken in the same transaction.
	PERFORM pg_advisory_xact_lock(7206411342);
	SELECT count(*)::integer INTO in_flight FROM "generations" g
	WHERE g."status" IN ('SUBMITTED', 'PROCESSING')
		OR (g."status" = 'QUEUED' AND g."lease_expires_at" > now())
		-- A submit whose sender lost the database may well be at Segmind.
		OR (g."status" = 'QUEUED' AND g."submit_started_at" IS NOT NULL AND g."segmind_request_id" IS NULL
			AND g."submit_started_at" > now() - submit_window_ms * interval '1 millisecond');
	IF in_flight >= max_in_flight THEN
		RETURN;
	END IF;
	SELECT count(*)::integer INTO recent FROM "segmind_submits" s
	WHERE s."key_id" = submit_key_id AND s."at" > now() - interval '1 minute';
	IF recent >= submits_per_minute THEN
		RETURN;
	END IF;

	SELECT * INTO claimed FROM reelql_lease_due(worker_id, lease_ms, driving_ids, submit_window_ms, false);
	IF claimed."id" IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO "segmind_submits" ("key_id", "generation_id") VALUES (submit_key_id, claimed."id");
	-- Submit records older than an hour count for nothing (the rate limit looks back one minute).
	IF prune_submits THEN
		DELETE FROM "segmind_submits" WHERE "key_id" = submit_key_id AND "at" < now() - interval '1 hour';
	END IF;
	RETURN NEXT claimed;
END
$$;
