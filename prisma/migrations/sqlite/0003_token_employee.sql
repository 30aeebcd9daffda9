-- AlterTable
ALTER TABLE "api_tokens" ADD COLUMN "employee" TEXT;

