-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "visit_judgement" TEXT;

-- CreateTable
CREATE TABLE "lead_tally_stage" (
    "village_code" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "lead_tally_stage_pkey" PRIMARY KEY ("village_code","stage")
);

-- CreateTable
CREATE TABLE "lead_tally_due" (
    "village_code" TEXT NOT NULL,
    "due" DATE NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "lead_tally_due_pkey" PRIMARY KEY ("village_code","due")
);

-- CreateTable
CREATE TABLE "lead_tally_day" (
    "village_code" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "lead_tally_day_pkey" PRIMARY KEY ("village_code","day")
);

-- CreateTable
CREATE TABLE "lead_tally_risk" (
    "village_code" TEXT NOT NULL,
    "risk" TEXT NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "lead_tally_risk_pkey" PRIMARY KEY ("village_code","risk")
);

-- The first judgement of each lead's latest visit, from its events
UPDATE "lead" l SET "visit_judgement" = (
  SELECT e."data"->>'judgement' FROM "lead_event" e WHERE e."lead_id" = l."id" AND e."to_stage" = 'visited' ORDER BY e."id" DESC LIMIT 1);

-- The tallies are kept by statement-level triggers: one set of changes per statement (a move changes one lead, a
-- bulk insert thousands), added up per key and written in key order (two statements never lock tally rows in
-- opposite orders). A changed lead counts -1 as it was and +1 as it is; what cancels out is not written.
CREATE TYPE "lead_tally_change" AS ("village_code" TEXT, "stage" TEXT, "due" DATE, "day" DATE, "risks" TEXT[], "d" INTEGER);

CREATE FUNCTION lead_tally_apply(c "lead_tally_change"[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "lead_tally_stage" AS t ("village_code", "stage", "n")
    SELECT "village_code", "stage", sum("d") FROM unnest(c) GROUP BY 1, 2 HAVING sum("d") <> 0 ORDER BY 1, 2
    ON CONFLICT ("village_code", "stage") DO UPDATE SET "n" = t."n" + excluded."n";
  INSERT INTO "lead_tally_due" AS t ("village_code", "due", "n")
    SELECT "village_code", "due", sum("d") FROM unnest(c) WHERE "due" IS NOT NULL GROUP BY 1, 2 HAVING sum("d") <> 0 ORDER BY 1, 2
    ON CONFLICT ("village_code", "due") DO UPDATE SET "n" = t."n" + excluded."n";
  INSERT INTO "lead_tally_day" AS t ("village_code", "day", "n")
    SELECT "village_code", "day", sum("d") FROM unnest(c) GROUP BY 1, 2 HAVING sum("d") <> 0 ORDER BY 1, 2
    ON CONFLICT ("village_code", "day") DO UPDATE SET "n" = t."n" + excluded."n";
  INSERT INTO "lead_tally_risk" AS t ("village_code", "risk", "n")
    SELECT x."village_code", r, sum(x."d") FROM unnest(c) x, unnest(x."risks") r
    WHERE x."stage" NOT IN ('withdrawn', 'duplicate') GROUP BY 1, 2 HAVING sum(x."d") <> 0 ORDER BY 1, 2
    ON CONFLICT ("village_code", "risk") DO UPDATE SET "n" = t."n" + excluded."n";
  -- keys whose count went back to zero (a due date passed on, a withdrawn lead's hardships) are removed
  DELETE FROM "lead_tally_due" WHERE "n" = 0 AND ("village_code", "due") IN (SELECT "village_code", "due" FROM unnest(c));
$$;

CREATE FUNCTION lead_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lead_tally_apply(ARRAY(SELECT ROW("village_code", "stage", "next_deadline_due", "reported_on", "risks", 1)::"lead_tally_change" FROM new_rows));
  RETURN NULL;
END $$;

CREATE FUNCTION lead_tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lead_tally_apply(ARRAY(
    SELECT ROW("village_code", "stage", "next_deadline_due", "reported_on", "risks", 1)::"lead_tally_change" FROM new_rows
    UNION ALL
    SELECT ROW("village_code", "stage", "next_deadline_due", "reported_on", "risks", -1)::"lead_tally_change" FROM old_rows));
  RETURN NULL;
END $$;

CREATE FUNCTION lead_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lead_tally_apply(ARRAY(SELECT ROW("village_code", "stage", "next_deadline_due", "reported_on", "risks", -1)::"lead_tally_change" FROM old_rows));
  RETURN NULL;
END $$;

-- TRUNCATE lead (the benchmarks start over) empties the tallies too
CREATE FUNCTION lead_tally_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE "lead_tally_stage", "lead_tally_due", "lead_tally_day", "lead_tally_risk";
  RETURN NULL;
END $$;

CREATE TRIGGER lead_tally_insert AFTER INSERT ON "lead" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lead_tally_inserted();
CREATE TRIGGER lead_tally_update AFTER UPDATE ON "lead" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lead_tally_updated();
CREATE TRIGGER lead_tally_delete AFTER DELETE ON "lead" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lead_tally_deleted();
CREATE TRIGGER lead_tally_truncate AFTER TRUNCATE ON "lead" FOR EACH STATEMENT EXECUTE FUNCTION lead_tally_truncated();

-- What is there already
SELECT lead_tally_apply(ARRAY(SELECT ROW("village_code", "stage", "next_deadline_due", "reported_on", "risks", 1)::"lead_tally_change" FROM "lead"));
