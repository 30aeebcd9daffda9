-- CreateTable
CREATE TABLE "telegram_accounts" (
    "id" TEXT NOT NULL,
    "employee" TEXT NOT NULL,
    "phone" TEXT NOT NULL,
    "tg_user_id" TEXT NOT NULL,
    "username" TEXT,
    "name" TEXT,
    "state" TEXT NOT NULL,
    "session" TEXT,
    "created_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "telegram_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "telegram_accounts_tg_user_id_key" ON "telegram_accounts"("tg_user_id");

-- CreateIndex
CREATE INDEX "telegram_accounts_employee_idx" ON "telegram_accounts"("employee");
