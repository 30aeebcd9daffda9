-- AlterTable
ALTER TABLE "webhooks" ADD COLUMN     "basic_password" TEXT,
ADD COLUMN     "basic_user" TEXT,
ADD COLUMN     "headers" TEXT NOT NULL DEFAULT '';

