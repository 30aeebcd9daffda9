-- AlterTable
ALTER TABLE "chat_messages" ADD COLUMN "template" TEXT;

-- CreateTable
CREATE TABLE "whatsapp_templates" (
    "account_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "category" TEXT,
    "body" TEXT,
    "params" INTEGER NOT NULL DEFAULT 0,
    "updated_at" BIGINT NOT NULL,

    PRIMARY KEY ("account_id", "name", "language")
);

-- CreateTable
CREATE TABLE "whatsapp_template_map" (
    "template" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "wa_name" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "params" TEXT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    PRIMARY KEY ("template", "account_id")
);

