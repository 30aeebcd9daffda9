-- CreateTable
CREATE TABLE "chat_analyses" (
    "chat_id" TEXT NOT NULL PRIMARY KEY,
    "status" TEXT NOT NULL,
    "analysis" TEXT,
    "model" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_message" BIGINT NOT NULL DEFAULT 0,
    "trigger" TEXT NOT NULL DEFAULT 'auto',
    "requested_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL
);

-- CreateIndex
CREATE INDEX "chat_analyses_status_idx" ON "chat_analyses"("status");

