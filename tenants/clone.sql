-- clinico_clone_schema(template, target): copy every table of `template` into a new schema
-- `target` with the same columns, identity columns, constraint and index names and definitions,
-- and rows (the template holds only its django_migrations records). Clinic schemas hold plain
-- Django tables only (no views, functions or triggers), which is all this copies.
CREATE OR REPLACE FUNCTION public.clinico_clone_schema(template text, target text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    tbl record;
    con record;
    idx record;
    col record;
    seq text;
    fn record;
    trg record;
    saved_path text := current_setting('search_path');
BEGIN
    EXECUTE format('CREATE SCHEMA %I', target);
    -- Definitions rendered while only pg_catalog is on the path come out schema-qualified.
    PERFORM set_config('search_path', 'pg_catalog', true);

    FOR tbl IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = template AND c.relkind IN ('r', 'p') ORDER BY c.relname
    LOOP
        EXECUTE format(
            'CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING IDENTITY '
            'INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)',
            target, tbl.relname, template, tbl.relname);
        EXECUTE format('INSERT INTO %I.%I SELECT * FROM %I.%I',
            target, tbl.relname, template, tbl.relname);
    END LOOP;

    -- Primary keys and unique constraints first, so foreign keys find them; then the rest.
    FOR con IN
        SELECT cl.relname, co.conname,
               replace(pg_get_constraintdef(co.oid), quote_ident(template) || '.',
                       quote_ident(target) || '.') AS def
        FROM pg_constraint co
        JOIN pg_class cl ON cl.oid = co.conrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = template AND co.contype IN ('p', 'u', 'c', 'f', 'x')
        ORDER BY CASE co.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3
                 ELSE 4 END, cl.relname, co.conname
    LOOP
        EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
            target, con.relname, con.conname, con.def);
    END LOOP;

    FOR idx IN
        SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(template) || '.',
                       ' ON ' || quote_ident(target) || '.') AS def
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE n.nspname = template
          AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)
    LOOP
        EXECUTE idx.def;
    END LOOP;

    -- Functions before the triggers that call them; both re-pointed at the new schema.
    FOR fn IN
        SELECT replace(pg_get_functiondef(p.oid), quote_ident(template) || '.',
                       quote_ident(target) || '.') AS def
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = template ORDER BY p.proname
    LOOP
        EXECUTE fn.def;
    END LOOP;

    FOR trg IN
        SELECT replace(pg_get_triggerdef(t.oid), quote_ident(template) || '.',
                       quote_ident(target) || '.') AS def
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = template AND NOT t.tgisinternal ORDER BY c.relname, t.tgname
    LOOP
        EXECUTE trg.def;
    END LOOP;

    -- Identity sequences continue after the copied rows.
    FOR col IN
        SELECT c.relname, a.attname
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = target AND c.relkind = 'r' AND a.attidentity <> '' AND a.attnum > 0
    LOOP
        seq := pg_get_serial_sequence(format('%I.%I', target, col.relname), col.attname);
        EXECUTE format(
            'SELECT setval(%L, COALESCE((SELECT max(%I) FROM %I.%I), 0) + 1, false)',
            seq, col.attname, target, col.relname);
    END LOOP;
    PERFORM set_config('search_path', saved_path, true);
END;
$fn$;
