-- AlterTable
ALTER TABLE "inbound_update" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "dead_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "inbound_update_channel_received_at_idx" ON "inbound_update"("channel", "received_at");
