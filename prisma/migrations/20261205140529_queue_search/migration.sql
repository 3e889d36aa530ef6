-- DropIndex
DROP INDEX "lead_county_code_head_name_id_idx";

-- DropIndex
DROP INDEX "lead_county_code_stage_idx";

-- DropIndex
DROP INDEX "lead_next_deadline_due_idx";

-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "head_name_grams" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "lead_county_code_stage_next_deadline_due_id_idx" ON "lead"("county_code", "stage", "next_deadline_due", "id");

-- CreateIndex
CREATE INDEX "lead_township_code_stage_next_deadline_due_id_idx" ON "lead"("township_code", "stage", "next_deadline_due", "id");

-- CreateIndex
CREATE INDEX "lead_head_name_grams_idx" ON "lead" USING GIN ("head_name_grams");

-- CreateIndex
CREATE INDEX "lead_next_deadline_due_id_idx" ON "lead"("next_deadline_due", "id");

-- The one- and two-character pieces of a name (by characters, not bytes): a search for "李明" asks the GIN index
-- for the leads holding the piece 李明, and one for "李明华" for those holding both 李明 and 明华; the name itself is
-- then compared, so the pieces only narrow the search down.
CREATE FUNCTION lead_name_grams(name text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(name, i, len)), ARRAY[]::text[])
  FROM generate_series(1, char_length(name)) AS i, generate_series(1, 2) AS len
  WHERE i + len - 1 <= char_length(name)
$$;

CREATE FUNCTION lead_keep_name_grams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.head_name_grams := lead_name_grams(NEW.head_name);
  RETURN NEW;
END
$$;

-- also when the pieces alone are written: they always follow the name
CREATE TRIGGER lead_name_grams BEFORE INSERT OR UPDATE OF head_name, head_name_grams ON "lead"
  FOR EACH ROW EXECUTE FUNCTION lead_keep_name_grams();

UPDATE "lead" SET head_name_grams = lead_name_grams(head_name);
