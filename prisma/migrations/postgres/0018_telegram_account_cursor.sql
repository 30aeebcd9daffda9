-- AlterTable (hand-written: ADD COLUMN, no table rebuild)
ALTER TABLE "telegram_accounts" ADD COLUMN "last_message_id" BIGINT;
