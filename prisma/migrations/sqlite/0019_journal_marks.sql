-- CreateTable
CREATE TABLE "journal_marks" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL
);

