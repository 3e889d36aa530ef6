-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "possible_duplicates" TEXT[];

-- CreateTable
CREATE TABLE "lead_event" (
    "id" BIGSERIAL NOT NULL,
    "lead_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "from_stage" TEXT,
    "to_stage" TEXT,
    "data" JSONB,
    "note" TEXT,

    CONSTRAINT "lead_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "lead_event_lead_id_id_idx" ON "lead_event"("lead_id", "id");

-- AddForeignKey
ALTER TABLE "lead_event" ADD CONSTRAINT "lead_event_lead_id_fkey" FOREIGN KEY ("lead_id") REFERENCES "lead"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Events are append-only: the procedure's history is evidence, so nothing may change or remove it.
CREATE FUNCTION lead_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'lead_event is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER lead_event_no_update BEFORE UPDATE OR DELETE ON "lead_event" FOR EACH ROW EXECUTE FUNCTION lead_event_append_only();
