-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "inbound_update" (
    "id" BIGSERIAL NOT NULL,
    "channel" TEXT NOT NULL,
    "platform_id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "handled_at" TIMESTAMPTZ(3),
    "error" TEXT,

    CONSTRAINT "inbound_update_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "inbound_update_channel_platform_id_key" ON "inbound_update"("channel", "platform_id");
