-- AlterTable
ALTER TABLE "access_log" ADD COLUMN     "staff_id" UUID,
ALTER COLUMN "token_id" DROP NOT NULL;

-- CreateIndex
CREATE INDEX "access_log_staff_id_at_idx" ON "access_log"("staff_id", "at");
