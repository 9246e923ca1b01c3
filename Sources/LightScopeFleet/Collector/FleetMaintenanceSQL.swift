/// `lightscope.maintain(days_ahead, retention_days)`: the partition housekeeping that
/// `lightscope fleet maintain` (and its timer) runs, kept in SQL so that pg_cron or psql users
/// can call it the same way.
enum FleetMaintenanceSQL {
    static let function = """
        -- Creates the daily partitions from today to days_ahead, and for every day within the
        -- retention that the DEFAULT partition holds rows of (a host's clock was off): those rows
        -- move into the new partition first, since attaching it fails while DEFAULT holds rows of
        -- its range. Drops the partitions older than retention_days and expires DEFAULT's old rows.
        CREATE FUNCTION lightscope.maintain(days_ahead integer, retention_days integer)
        RETURNS TABLE (action text, partition_name text, rows_moved bigint)
        LANGUAGE plpgsql SET search_path = pg_catalog, lightscope AS $$
        DECLARE
            today date := (now() AT TIME ZONE 'UTC')::date;
            oldest date := today - retention_days;
            day date;
            part_name text;
            lower_bound timestamptz;
            upper_bound timestamptz;
            moved bigint;
        BEGIN
            IF days_ahead < 0 OR retention_days < 1 THEN
                RAISE EXCEPTION 'days_ahead must be 0 or more and retention_days 1 or more';
            END IF;
            -- Rows for a day must not reach DEFAULT between the move and the attach.
            LOCK TABLE lightscope.events_default IN ACCESS EXCLUSIVE MODE;
            FOR day IN
                SELECT d::date FROM generate_series(today::timestamp, (today + days_ahead)::timestamp, interval '1 day') AS d
                UNION
                SELECT DISTINCT (e.time AT TIME ZONE 'UTC')::date FROM lightscope.events_default e
                    WHERE e.time >= (oldest::timestamp AT TIME ZONE 'UTC')
                      AND e.time < ((today + days_ahead + 1)::timestamp AT TIME ZONE 'UTC')
                ORDER BY 1
            LOOP
                part_name := 'events_' || to_char(day, 'YYYYMMDD');
                CONTINUE WHEN to_regclass('lightscope.' || part_name) IS NOT NULL;
                lower_bound := day::timestamp AT TIME ZONE 'UTC';
                upper_bound := (day + 1)::timestamp AT TIME ZONE 'UTC';
                EXECUTE format('CREATE TABLE lightscope.%I (LIKE lightscope.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name);
                EXECUTE format('WITH gone AS (DELETE FROM lightscope.events_default WHERE time >= $1 AND time < $2 RETURNING *) '
                    'INSERT INTO lightscope.%I SELECT * FROM gone', part_name) USING lower_bound, upper_bound;
                GET DIAGNOSTICS moved = ROW_COUNT;
                EXECUTE format('ALTER TABLE lightscope.events ATTACH PARTITION lightscope.%I FOR VALUES FROM (%L) TO (%L)',
                    part_name, lower_bound, upper_bound);
                action := 'created'; partition_name := part_name; rows_moved := moved;
                RETURN NEXT;
            END LOOP;
            FOR part_name IN
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'lightscope.events'::regclass AND c.relname ~ '^events_[0-9]{8}$'
                  AND to_date(substr(c.relname, 8), 'YYYYMMDD') < oldest
                ORDER BY 1
            LOOP
                EXECUTE format('DROP TABLE lightscope.%I', part_name);
                action := 'dropped'; partition_name := part_name; rows_moved := 0;
                RETURN NEXT;
            END LOOP;
            DELETE FROM lightscope.events_default WHERE time < (oldest::timestamp AT TIME ZONE 'UTC');
            GET DIAGNOSTICS moved = ROW_COUNT;
            IF moved > 0 THEN
                action := 'expired'; partition_name := 'events_default'; rows_moved := moved;
                RETURN NEXT;
            END IF;
        END $$;
        REVOKE ALL ON FUNCTION lightscope.maintain(integer, integer) FROM PUBLIC;

        """
}
