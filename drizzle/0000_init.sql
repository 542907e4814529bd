CREATE TYPE "public"."generation_status" AS ENUM('QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING', 'SUCCEEDED', 'FAILED', 'CANCELED');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"daily_budget_usd" numeric(10, 2),
	"max_active" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_name_unique" UNIQUE("name"),
	CONSTRAINT "api_keys_prefix_unique" UNIQUE("prefix"),
	CONSTRAINT "api_keys_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "generation_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"generation_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"type" text NOT NULL,
	"status" "generation_status" NOT NULL,
	"message" text NOT NULL,
	"data" jsonb,
	"snapshot" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "generations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"status" "generation_status" DEFAULT 'QUEUED' NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"prompt" text NOT NULL,
	"negative_prompt" text,
	"image" text,
	"last_frame" text,
	"aspect_ratio" text NOT NULL,
	"duration_seconds" integer NOT NULL,
	"resolution" text NOT NULL,
	"generate_audio" boolean NOT NULL,
	"seed" bigint NOT NULL,
	"api_key_id" uuid,
	"idempotency_key" text,
	"input_hash" text,
	"provider" text NOT NULL,
	"request_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"rate_limit_waits" integer DEFAULT 0 NOT NULL,
	"deadline_at" timestamp with time zone NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"progress" real DEFAULT 0 NOT NULL,
	"eta_seconds" integer,
	"cost_usd" numeric(10, 4) NOT NULL,
	"cost_final" boolean DEFAULT false NOT NULL,
	"error_code" text,
	"error_message" text,
	"error_retryable" boolean,
	"output_url" text,
	"upstream_seconds" real,
	"video_key" text,
	"video_content_type" text,
	"video_size_bytes" bigint,
	"video_expired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submit_started_at" timestamp with time zone,
	"submitted_at" timestamp with time zone,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "segmind_submits" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"generation_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "server_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "generation_events" ADD CONSTRAINT "generation_events_generation_id_generations_id_fk" FOREIGN KEY ("generation_id") REFERENCES "public"."generations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "generation_events_version_idx" ON "generation_events" USING btree ("generation_id","version");--> statement-breakpoint
CREATE INDEX "generations_due_idx" ON "generations" USING btree ("run_after") WHERE "generations"."status" in ('QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING');--> statement-breakpoint
CREATE INDEX "generations_created_idx" ON "generations" USING btree ("api_key_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "generations_idempotency_idx" ON "generations" USING btree ("api_key_id","idempotency_key") WHERE "generations"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "generations_history_idx" ON "generations" USING btree ("duration_seconds","resolution","generate_audio","completed_at" DESC NULLS LAST) WHERE "generations"."upstream_seconds" is not null;--> statement-breakpoint
CREATE INDEX "segmind_submits_key_at_idx" ON "segmind_submits" USING btree ("key_id","at");