-- CreateTable
CREATE TABLE "chat_analyses" (
    "chat_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "analysis" TEXT,
    "model" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_message" BIGINT NOT NULL DEFAULT 0,
    "trigger" TEXT NOT NULL DEFAULT 'auto',
    "requested_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "chat_analyses_pkey" PRIMARY KEY ("chat_id")
);

-- CreateIndex
CREATE INDEX "chat_analyses_status_idx" ON "chat_analyses"("status");

