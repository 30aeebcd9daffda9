-- AlterTable (a plain ADD COLUMN: no table rebuild, the FTS5 triggers and expression indexes stay)
ALTER TABLE "calls" ADD COLUMN "uncertain" BOOLEAN NOT NULL DEFAULT false;
