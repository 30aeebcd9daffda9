-- CreateTable
CREATE TABLE "chats" (
    "id" TEXT NOT NULL,
    "messenger" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "peer_id" TEXT NOT NULL,
    "peer_name" TEXT,
    "peer_username" TEXT,
    "phone" TEXT,
    "customer_id" TEXT,
    "contact_id" TEXT,
    "status" TEXT NOT NULL,
    "responsible" TEXT,
    "reference" TEXT,
    "created_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,
    "last_message_at" BIGINT NOT NULL,
    "closed_at" BIGINT,

    CONSTRAINT "chats_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chat_observers" (
    "chat_id" TEXT NOT NULL,
    "employee" TEXT NOT NULL,
    "added_by" TEXT,
    "added_at" BIGINT NOT NULL,

    CONSTRAINT "chat_observers_pkey" PRIMARY KEY ("chat_id","employee")
);

-- CreateTable
CREATE TABLE "chat_messages" (
    "id" SERIAL NOT NULL,
    "chat_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "peer_id" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "author" TEXT,
    "text" TEXT,
    "external_id" TEXT,
    "state" TEXT NOT NULL,
    "failure" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" BIGINT,
    "context" TEXT,
    "file_hash" TEXT,
    "file_name" TEXT,
    "file_mime" TEXT,
    "file_size" INTEGER,
    "created_at" BIGINT NOT NULL,
    "edited_at" BIGINT,
    "deleted_at" BIGINT,

    CONSTRAINT "chat_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chat_reads" (
    "chat_id" TEXT NOT NULL,
    "employee" TEXT NOT NULL,
    "last_read" INTEGER NOT NULL,

    CONSTRAINT "chat_reads_pkey" PRIMARY KEY ("chat_id","employee")
);

-- CreateTable
CREATE TABLE "chat_templates" (
    "name" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "chat_templates_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "chats_account_id_peer_id_idx" ON "chats"("account_id", "peer_id");

-- CreateIndex
CREATE INDEX "chats_status_idx" ON "chats"("status");

-- CreateIndex
CREATE INDEX "chats_responsible_idx" ON "chats"("responsible");

-- CreateIndex
CREATE INDEX "chats_customer_id_idx" ON "chats"("customer_id");

-- CreateIndex
CREATE INDEX "chats_last_message_at_idx" ON "chats"("last_message_at");

-- CreateIndex
CREATE INDEX "chat_observers_employee_idx" ON "chat_observers"("employee");

-- CreateIndex
CREATE INDEX "chat_messages_chat_id_id_idx" ON "chat_messages"("chat_id", "id");

-- CreateIndex
CREATE INDEX "chat_messages_state_next_attempt_at_idx" ON "chat_messages"("state", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "chat_messages_account_id_peer_id_direction_external_id_key" ON "chat_messages"("account_id", "peer_id", "direction", "external_id");

