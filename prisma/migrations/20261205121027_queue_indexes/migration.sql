-- DropIndex
DROP INDEX "lead_county_code_next_deadline_due_idx";

-- CreateIndex
CREATE INDEX "lead_county_code_next_deadline_due_id_idx" ON "lead"("county_code", "next_deadline_due", "id");

-- CreateIndex
CREATE INDEX "lead_township_code_next_deadline_due_id_idx" ON "lead"("township_code", "next_deadline_due", "id");

-- CreateIndex
CREATE INDEX "lead_village_code_next_deadline_due_id_idx" ON "lead"("village_code", "next_deadline_due", "id");

-- CreateIndex
CREATE INDEX "lead_county_code_head_name_id_idx" ON "lead"("county_code", "head_name", "id");
