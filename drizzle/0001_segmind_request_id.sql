ALTER TABLE "generations" RENAME COLUMN "request_id" TO "segmind_request_id";
