-- AlterTable
ALTER TABLE "attachment" ADD COLUMN     "fetch_error" TEXT,
ADD COLUMN     "fetch_gave_up_at" TIMESTAMPTZ(3),
ADD COLUMN     "next_fetch_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "attachment_next_fetch_at_idx" ON "attachment"("next_fetch_at");
