-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "caller_e164" TEXT,
ADD COLUMN     "destination_e164" TEXT,
ADD COLUMN     "numbers_norm" TEXT;


-- Hand-written (Prisma cannot express it): the calls still to be written under the current phone rules
-- (numbers_norm IS NULL: every call stored before this migration). The start-up backfill
-- (src/journal/number-backfill.ts) walks this index and empties it; the writer never adds to it.
CREATE INDEX "calls_numbers_stale_idx" ON "calls"("id") WHERE "numbers_norm" IS NULL;
