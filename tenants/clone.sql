-- clinico_clone_schema(template, target): copy every table of `template` into a new schema
-- `target` with the same columns, identity columns, constraint and index names and definitions,
-- functions and triggers (the audit trail's append-only trigger), and rows (the template holds
-- only its django_migrations records).
--
-- Finding the template's objects takes scans of pg_class, pg_constraint, pg_index and pg_proc
-- (none is indexed by schema), which grow with every clinic schema in the database. So the
-- statements are generated once per template version (the set of migrations recorded in the
-- template) into public.clinico_clone_ddl and replayed for every clone after that: a clone's
-- cost no longer depends on how many schemas exist. Re-installing this file empties the cache.

CREATE TABLE IF NOT EXISTS public.clinico_clone_ddl (
    template text PRIMARY KEY,
    version text NOT NULL,
    statements text[] NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);

-- The template's version: a digest of the migrations recorded in it (one small table's rows).
CREATE OR REPLACE FUNCTION public.clinico_template_version(template text)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    digest text;
BEGIN
    EXECUTE format(
        'SELECT md5(string_agg(app || ''.'' || name, '','' ORDER BY app, name)) '
        'FROM %I.django_migrations', template)
    INTO digest;
    RETURN coalesce(digest, '');
END;
$fn$;

-- The statements that build a copy of `template`, with `__clone_target__.` where the new
-- schema's name goes. The catalog scans live here, run once per template version.
CREATE OR REPLACE FUNCTION public.clinico_template_ddl(template text)
RETURNS text[]
LANGUAGE plpgsql
AS $fn$
DECLARE
    target constant text := '__clone_target__';
    statements text[] := '{}';
    tbl record;
    con record;
    idx record;
    col record;
    fn record;
    trg record;
    saved_path text := current_setting('search_path');
BEGIN
    -- Definitions rendered while only pg_catalog is on the path come out schema-qualified.
    PERFORM set_config('search_path', 'pg_catalog', true);

    FOR tbl IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = template AND c.relkind IN ('r', 'p') ORDER BY c.relname
    LOOP
        statements := statements || format(
            'CREATE TABLE %s.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING IDENTITY '
            'INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)',
            target, tbl.relname, template, tbl.relname);
        statements := statements || format('INSERT INTO %s.%I SELECT * FROM %I.%I',
            target, tbl.relname, template, tbl.relname);
    END LOOP;

    -- Primary keys and unique constraints first, so foreign keys find them; then the rest.
    FOR con IN
        SELECT cl.relname, co.conname,
               replace(pg_get_constraintdef(co.oid), quote_ident(template) || '.',
                       target || '.') AS def
        FROM pg_constraint co
        JOIN pg_class cl ON cl.oid = co.conrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = template AND co.contype IN ('p', 'u', 'c', 'f', 'x')
        ORDER BY CASE co.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3
                 ELSE 4 END, cl.relname, co.conname
    LOOP
        statements := statements || format('ALTER TABLE %s.%I ADD CONSTRAINT %I %s',
            target, con.relname, con.conname, con.def);
    END LOOP;

    FOR idx IN
        SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(template) || '.',
                       ' ON ' || target || '.') AS def
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE n.nspname = template
          AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)
        ORDER BY ic.relname
    LOOP
        statements := statements || idx.def;
    END LOOP;

    -- Functions before the triggers that call them; both re-pointed at the new schema.
    FOR fn IN
        SELECT replace(pg_get_functiondef(p.oid), quote_ident(template) || '.',
                       target || '.') AS def
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = template ORDER BY p.proname
    LOOP
        statements := statements || fn.def;
    END LOOP;

    FOR trg IN
        SELECT replace(pg_get_triggerdef(t.oid), quote_ident(template) || '.',
                       target || '.') AS def
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = template AND NOT t.tgisinternal ORDER BY c.relname, t.tgname
    LOOP
        statements := statements || trg.def;
    END LOOP;

    -- Identity sequences continue after the copied rows.
    FOR col IN
        SELECT c.relname, a.attname
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = template AND c.relkind = 'r' AND a.attidentity <> '' AND a.attnum > 0
        ORDER BY c.relname, a.attname
    LOOP
        statements := statements || format(
            'SELECT setval(pg_get_serial_sequence(%L, %L), '
            'COALESCE((SELECT max(%I) FROM %s.%I), 0) + 1, false)',
            target || '.' || quote_ident(col.relname), col.attname,
            col.attname, target, col.relname);
    END LOOP;
    PERFORM set_config('search_path', saved_path, true);
    RETURN statements;
END;
$fn$;

CREATE OR REPLACE FUNCTION public.clinico_clone_schema(template text, target text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    current_version text := public.clinico_template_version(template);
    cached text[];
    statement text;
    saved_path text := current_setting('search_path');
BEGIN
    SELECT d.statements INTO cached FROM public.clinico_clone_ddl d
    WHERE d.template = clinico_clone_schema.template AND d.version = current_version;
    IF cached IS NULL THEN
        cached := public.clinico_template_ddl(template);
        INSERT INTO public.clinico_clone_ddl AS d (template, version, statements)
        VALUES (clinico_clone_schema.template, current_version, cached)
        ON CONFLICT ON CONSTRAINT clinico_clone_ddl_pkey DO UPDATE
            SET version = excluded.version, statements = excluded.statements, built_at = now();
    END IF;

    EXECUTE format('CREATE SCHEMA %I', target);
    PERFORM set_config('search_path', 'pg_catalog', true);
    FOREACH statement IN ARRAY cached LOOP
        EXECUTE replace(statement, '__clone_target__.', quote_ident(target) || '.');
    END LOOP;
    PERFORM set_config('search_path', saved_path, true);
END;
$fn$;

-- Statements generated by an earlier version of these functions are not trusted.
TRUNCATE public.clinico_clone_ddl;
