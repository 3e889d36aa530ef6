-- One outbox for everything the workers send: the county system's deliveries (kept, as kind 'county', one
-- thread per lead) and the staff messages of the former "delivery" table (moved in, as kind 'staff', one thread
-- per chat). Written by hand from the generated diff so that no row is lost.

-- DropIndex
DROP INDEX "outbox_lead_id_id_idx";

-- DropIndex
DROP INDEX "outbox_state_next_attempt_at_idx";

-- AlterTable: the county's deliveries get their kind, lane and thread; 'delivered' becomes 'sent'
ALTER TABLE "outbox" RENAME COLUMN "delivered_at" TO "sent_at";
ALTER TABLE "outbox"
ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'county',
ADD COLUMN     "lane" TEXT NOT NULL DEFAULT 'county',
ADD COLUMN     "staff_id" UUID,
ADD COLUMN     "thread" TEXT,
ALTER COLUMN "lead_id" DROP NOT NULL,
ALTER COLUMN "event" DROP NOT NULL;
UPDATE "outbox" SET "thread" = "lead_id"::text;
UPDATE "outbox" SET "state" = 'sent' WHERE "state" = 'delivered';
ALTER TABLE "outbox" ALTER COLUMN "thread" SET NOT NULL, ALTER COLUMN "kind" DROP DEFAULT, ALTER COLUMN "lane" DROP DEFAULT;

-- The staff messages move in, oldest first
INSERT INTO "outbox" ("kind", "lane", "thread", "key", "staff_id", "payload", "state", "attempts", "next_attempt_at", "locked_until", "last_error", "created_at", "sent_at")
SELECT 'staff', "channel", "chat_id", "key", "staff_id", "payload", "state", "attempts", "next_attempt_at", "locked_until", "last_error", "created_at", "sent_at"
FROM "delivery" ORDER BY "id";

-- DropTable
DROP TABLE "delivery";

-- CreateIndex
CREATE INDEX "outbox_lane_state_next_attempt_at_idx" ON "outbox"("lane", "state", "next_attempt_at");

-- CreateIndex
CREATE INDEX "outbox_lane_thread_id_idx" ON "outbox"("lane", "thread", "id");

-- CreateIndex
CREATE INDEX "outbox_staff_id_idx" ON "outbox"("staff_id");
