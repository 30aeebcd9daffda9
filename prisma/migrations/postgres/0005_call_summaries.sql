-- CreateTable
CREATE TABLE "call_summaries" (
    "call_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "summary" TEXT,
    "model" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "call_summaries_pkey" PRIMARY KEY ("call_id")
);

-- CreateIndex
CREATE INDEX "call_summaries_status_idx" ON "call_summaries"("status");

