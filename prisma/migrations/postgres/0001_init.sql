-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "calls" (
    "id" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "started_at" BIGINT NOT NULL,
    "answered_at" BIGINT,
    "ended_at" BIGINT,
    "ring_ms" BIGINT,
    "talk_ms" BIGINT,
    "duration_ms" BIGINT,
    "external_number" TEXT,
    "caller_number" TEXT,
    "caller_name" TEXT,
    "destination_number" TEXT,
    "hangup_cause" TEXT,
    "employee_list" TEXT NOT NULL DEFAULT '',
    "has_recording" BOOLEAN NOT NULL DEFAULT false,
    "customer_id" TEXT,
    "origin_job" TEXT,
    "final" BOOLEAN NOT NULL DEFAULT false,
    "live_state" TEXT,
    "numbers" TEXT NOT NULL DEFAULT '',
    "search" TEXT NOT NULL DEFAULT '',
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "call_legs" (
    "uuid" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "fs_direction" TEXT NOT NULL,
    "channel_name" TEXT NOT NULL,
    "employee" TEXT,
    "number" TEXT,
    "name" TEXT,
    "destination" TEXT,
    "role" TEXT NOT NULL,
    "created_at" BIGINT NOT NULL,
    "answered_at" BIGINT,
    "ended_at" BIGINT,
    "hangup_cause" TEXT,
    "state" TEXT,

    CONSTRAINT "call_legs_pkey" PRIMARY KEY ("uuid")
);

-- CreateTable
CREATE TABLE "call_employees" (
    "call_id" TEXT NOT NULL,
    "extension" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "answered" BOOLEAN NOT NULL DEFAULT false,
    "started_at" BIGINT NOT NULL,

    CONSTRAINT "call_employees_pkey" PRIMARY KEY ("call_id","extension")
);

-- CreateTable
CREATE TABLE "call_events" (
    "id" SERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "at" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "leg" TEXT,
    "data" TEXT NOT NULL,

    CONSTRAINT "call_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recordings" (
    "key" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "leg" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "started_at" BIGINT NOT NULL,
    "stopped_at" BIGINT,
    "seconds" DOUBLE PRECISION,
    "stereo" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "recordings_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "call_aliases" (
    "alias_id" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,

    CONSTRAINT "call_aliases_pkey" PRIMARY KEY ("alias_id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" BIGINT NOT NULL,
    "revoked_at" BIGINT,
    "last_used_at" BIGINT,

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "calls_started_at_id_idx" ON "calls"("started_at", "id");

-- CreateIndex
CREATE INDEX "calls_status_started_at_idx" ON "calls"("status", "started_at");

-- CreateIndex
CREATE INDEX "calls_direction_started_at_idx" ON "calls"("direction", "started_at");

-- CreateIndex
CREATE INDEX "calls_external_number_idx" ON "calls"("external_number");

-- CreateIndex
CREATE INDEX "calls_customer_id_started_at_idx" ON "calls"("customer_id", "started_at");

-- CreateIndex
CREATE INDEX "calls_final_idx" ON "calls"("final");

-- CreateIndex
CREATE INDEX "call_legs_call_id_idx" ON "call_legs"("call_id");

-- CreateIndex
CREATE INDEX "call_employees_extension_started_at_call_id_idx" ON "call_employees"("extension", "started_at", "call_id");

-- CreateIndex
CREATE UNIQUE INDEX "call_events_key_key" ON "call_events"("key");

-- CreateIndex
CREATE INDEX "call_events_call_id_at_idx" ON "call_events"("call_id", "at");

-- CreateIndex
CREATE INDEX "recordings_call_id_idx" ON "recordings"("call_id");

-- CreateIndex
CREATE INDEX "call_aliases_call_id_idx" ON "call_aliases"("call_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- AddForeignKey
ALTER TABLE "call_legs" ADD CONSTRAINT "call_legs_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_employees" ADD CONSTRAINT "call_employees_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_events" ADD CONSTRAINT "call_events_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recordings" ADD CONSTRAINT "recordings_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written (Prisma cannot express it): trigram indexes, so "digits anywhere in the number" and
-- free-text filters (LIKE '%...%') use an index instead of scanning the journal.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "calls_numbers_trgm_idx" ON "calls" USING gin ("numbers" gin_trgm_ops);
CREATE INDEX "calls_search_trgm_idx" ON "calls" USING gin ("search" gin_trgm_ops);

-- Hand-written: the sort keys of GET /calls?sort=±talk|±duration (live calls sort as -1).
CREATE INDEX "calls_talk_sort_idx" ON "calls"(COALESCE("talk_ms", -1), "id");
CREATE INDEX "calls_duration_sort_idx" ON "calls"(COALESCE("duration_ms", -1), "id");
