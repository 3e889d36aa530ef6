-- AlterTable
ALTER TABLE "inbound_update" ADD COLUMN     "replied_at" TIMESTAMPTZ(3),
ADD COLUMN     "replies" BYTEA,
DROP COLUMN "payload",
ADD COLUMN     "payload" BYTEA NOT NULL DEFAULT ''::bytea;
-- Payloads are now stored encrypted, and rows recorded before this (development only) keep an empty payload
ALTER TABLE "inbound_update" ALTER COLUMN "payload" DROP DEFAULT;

-- CreateTable
CREATE TABLE "conversation" (
    "id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "chat_id" TEXT NOT NULL,
    "language" TEXT NOT NULL DEFAULT 'zh-CN',
    "state" BYTEA NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'idle',
    "draft_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "conversation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "lead" (
    "id" UUID NOT NULL,
    "receipt_no" TEXT NOT NULL,
    "county_code" TEXT NOT NULL,
    "township_code" TEXT NOT NULL,
    "village_code" TEXT NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'self_report',
    "submission_key" TEXT,
    "channel" TEXT NOT NULL,
    "reporter_id" TEXT NOT NULL,
    "reporter_relation" TEXT,
    "head_name" TEXT NOT NULL,
    "phone_enc" BYTEA NOT NULL,
    "phone_hash" TEXT NOT NULL,
    "id_number_enc" BYTEA,
    "id_number_hash" TEXT,
    "answers" JSONB NOT NULL,
    "a33" DECIMAL(14,2),
    "a34" DECIMAL(14,2),
    "a37" DECIMAL(14,2),
    "a38" DECIMAL(14,2),
    "income_line" DECIMAL(10,2),
    "income_line_year" INTEGER,
    "category" TEXT NOT NULL,
    "flags" TEXT[],
    "green_channel" BOOLEAN NOT NULL DEFAULT false,
    "stage" TEXT NOT NULL DEFAULT 'received',
    "reported_on" DATE NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "withdrawn_at" TIMESTAMPTZ(3),

    CONSTRAINT "lead_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consent" (
    "id" UUID NOT NULL,
    "lead_id" UUID NOT NULL,
    "text_version" TEXT NOT NULL,
    "text_hash" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "signed_at" TIMESTAMPTZ(3) NOT NULL,
    "channel" TEXT NOT NULL,
    "channel_user_id" TEXT NOT NULL,
    "typed_name" TEXT NOT NULL,
    "proxy_relation" TEXT,
    "sensitive_notice_at" TIMESTAMPTZ(3),

    CONSTRAINT "consent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attachment" (
    "id" UUID NOT NULL,
    "lead_id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "file_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "attachment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "receipt_counter" (
    "county_code" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,

    CONSTRAINT "receipt_counter_pkey" PRIMARY KEY ("county_code","day")
);

-- CreateIndex
CREATE INDEX "conversation_draft_expires_at_idx" ON "conversation"("draft_expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "conversation_channel_user_id_key" ON "conversation"("channel", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "lead_receipt_no_key" ON "lead"("receipt_no");

-- CreateIndex
CREATE UNIQUE INDEX "lead_submission_key_key" ON "lead"("submission_key");

-- CreateIndex
CREATE INDEX "lead_county_code_stage_idx" ON "lead"("county_code", "stage");

-- CreateIndex
CREATE INDEX "lead_village_code_idx" ON "lead"("village_code");

-- CreateIndex
CREATE INDEX "lead_channel_reporter_id_idx" ON "lead"("channel", "reporter_id");

-- CreateIndex
CREATE INDEX "lead_phone_hash_idx" ON "lead"("phone_hash");

-- CreateIndex
CREATE INDEX "lead_id_number_hash_idx" ON "lead"("id_number_hash");

-- CreateIndex
CREATE UNIQUE INDEX "consent_lead_id_key" ON "consent"("lead_id");

-- CreateIndex
CREATE INDEX "attachment_lead_id_idx" ON "attachment"("lead_id");

-- AddForeignKey
ALTER TABLE "consent" ADD CONSTRAINT "consent_lead_id_fkey" FOREIGN KEY ("lead_id") REFERENCES "lead"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "attachment" ADD CONSTRAINT "attachment_lead_id_fkey" FOREIGN KEY ("lead_id") REFERENCES "lead"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
