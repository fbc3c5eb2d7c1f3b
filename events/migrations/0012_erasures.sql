-- Cases whose family's personal data was erased (FamilyDataErased): a new projection.
CREATE TABLE erased_cases (
    global_position bigint NOT NULL,
    family_id       text NOT NULL,
    case_id         text NOT NULL,
    rule            text NOT NULL,
    erased_at       timestamptz NOT NULL,
    PRIMARY KEY (global_position, case_id)
);
CREATE INDEX erased_cases_case ON erased_cases (case_id);
