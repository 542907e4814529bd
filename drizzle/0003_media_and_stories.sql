CREATE TABLE "stories" (
	"id" uuid PRIMARY KEY NOT NULL,
	"status" "generation_status" DEFAULT 'QUEUED' NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"api_key_id" uuid,
	"shot_count" integer NOT NULL,
	"aspect_ratio" text NOT NULL,
	"resolution" text NOT NULL,
	"generate_audio" boolean NOT NULL,
	"seed" bigint NOT NULL,
	"image" text,
	"idempotency_key" text,
	"input_hash" text,
	"webhook_url" text,
	"progress" real DEFAULT 0 NOT NULL,
	"eta_seconds" integer,
	"cost_usd" numeric(10, 4) NOT NULL,
	"error_code" text,
	"error_message" text,
	"error_retryable" boolean,
	"video_key" text,
	"video_content_type" text,
	"video_size_bytes" bigint,
	"video_expired_at" timestamp with time zone,
	"video_duration_seconds" real,
	"video_width" integer,
	"video_height" integer,
	"video_has_audio" boolean,
	"poster_key" text,
	"last_frame_key" text,
	"stills_error" text,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "story_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"story_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"type" text NOT NULL,
	"status" "generation_status" NOT NULL,
	"message" text NOT NULL,
	"snapshot" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ALTER COLUMN "generation_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "video_duration_seconds" real;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "video_width" integer;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "video_height" integer;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "video_has_audio" boolean;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "poster_key" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "last_frame_key" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "stills_error" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "deadline_seconds" integer;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "continue_from_id" uuid;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "last_frame_asset_url" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "story_id" uuid;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "story_shot" integer;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "story_id" uuid;--> statement-breakpoint
ALTER TABLE "stories" ADD CONSTRAINT "stories_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "story_events" ADD CONSTRAINT "story_events_story_id_stories_id_fk" FOREIGN KEY ("story_id") REFERENCES "public"."stories"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stories_created_idx" ON "stories" USING btree ("api_key_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "stories_idempotency_idx" ON "stories" USING btree ("api_key_id","idempotency_key") WHERE "stories"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "stories_due_idx" ON "stories" USING btree ("run_after") WHERE "stories"."status" = 'STORING';--> statement-breakpoint
CREATE UNIQUE INDEX "story_events_version_idx" ON "story_events" USING btree ("story_id","version");--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_story_id_stories_id_fk" FOREIGN KEY ("story_id") REFERENCES "public"."stories"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_story_id_stories_id_fk" FOREIGN KEY ("story_id") REFERENCES "public"."stories"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "generations_story_idx" ON "generations" USING btree ("story_id","story_shot") WHERE "generations"."story_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_story_version_idx" ON "webhook_deliveries" USING btree ("story_id","version") WHERE "webhook_deliveries"."story_id" is not null;