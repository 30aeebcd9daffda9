-- CreateTable
CREATE TABLE "journal_marks" (
    "name" TEXT NOT NULL,
    "at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "journal_marks_pkey" PRIMARY KEY ("name")
);

