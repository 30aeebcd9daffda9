-- CreateTable
CREATE TABLE "transcription_jobs" (
    "recording_key" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" BIGINT NOT NULL,
    "progress" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "engine" TEXT,
    "language" TEXT,
    "segments" TEXT,
    "audio_seconds" DOUBLE PRECISION,
    "wall_ms" INTEGER,
    "created_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "transcription_jobs_pkey" PRIMARY KEY ("recording_key")
);

-- CreateIndex
CREATE INDEX "transcription_jobs_status_next_attempt_at_idx" ON "transcription_jobs"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "transcription_jobs_call_id_idx" ON "transcription_jobs"("call_id");

