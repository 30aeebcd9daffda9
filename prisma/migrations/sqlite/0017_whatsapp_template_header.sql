-- AlterTable
ALTER TABLE "whatsapp_templates" ADD COLUMN "header" TEXT;
