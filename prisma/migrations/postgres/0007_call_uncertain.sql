-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "uncertain" BOOLEAN NOT NULL DEFAULT false;

