//! The OpenAPI 3.1 document, generated from the entity descriptions the store runs on (and
//! the table of special endpoints below), so it cannot drift from what the server does: a
//! test asks the router for every operation listed here.

use salesflow_store::ErrorCode;
use salesflow_store::schema::{self, EntitySpec, FieldKind};
use serde_json::{Map, Value as Json, json};

/// An endpoint beyond each entity's create/read/update/delete/list/export.
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Takes a JSON body.
    pub takes_body: bool,
    /// The status of success (the import also answers 422 with its report when rejected).
    pub success: &'static str,
    /// Needs no credentials.
    pub public: bool,
}

/// The endpoints beyond each entity's create/read/update/delete/list/export.
pub const SPECIAL_ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "post",
        path: "/api/v1/auth/login",
        summary: "Log in with e-mail and password; sets an HttpOnly session cookie and returns its CSRF token",
        takes_body: true,
        success: "200",
        public: true,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/auth/logout",
        summary: "End the session",
        takes_body: false,
        success: "204",
        public: true,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/me",
        summary: "The caller: user, role and scopes",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/users",
        summary: "Every user",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/users",
        summary: "Create a user (admin); returns a one-time password unless one is given",
        takes_body: true,
        success: "201",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/tokens",
        summary: "Issue an API token with scopes (shown once)",
        takes_body: true,
        success: "201",
        public: false,
    },
    Endpoint {
        method: "delete",
        path: "/api/v1/tokens/{id}",
        summary: "Revoke a token",
        takes_body: false,
        success: "204",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/custom_fields",
        summary: "Custom field definitions (?entity=customers)",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/custom_fields",
        summary: "Define a custom field (admin)",
        takes_body: true,
        success: "201",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/search",
        summary: "Companies, customers and deals whose name, e-mail or domain contains ?q=",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/audit",
        summary: "The audit log (admin), oldest first; filters entity, record_id, actor_id, action, since, until, after, limit",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/imports",
        summary: "Import a CSV body (?kind=customers&mode=create|update|upsert&key=email&dry_run=true&map={...}); all or nothing",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/imports/{id}/undo",
        summary: "Undo a completed import",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/deals/{id}/history",
        summary: "A deal's stage changes, oldest first",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/deals/{id}/move",
        summary: "Move a deal to another stage ({\"stage_id\": ...})",
        takes_body: true,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/pipelines/{id}/kanban",
        summary: "Count, amount and weighted amount of the deals in each stage",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/customers/{id}/merge",
        summary: "Merge a duplicate customer into this one ({\"duplicate_id\": ...})",
        takes_body: true,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/companies/{id}/merge",
        summary: "Merge a duplicate company into this one ({\"duplicate_id\": ...})",
        takes_body: true,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/customers/duplicates",
        summary: "Groups of customers sharing an e-mail",
        takes_body: false,
        success: "200",
        public: false,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/companies/duplicates",
        summary: "Groups of companies sharing a domain",
        takes_body: false,
        success: "200",
        public: false,
    },
];

fn field_schema(kind: FieldKind) -> Json {
    match kind {
        FieldKind::Text => json!({"type": ["string", "null"]}),
        FieldKind::Email => json!({"type": ["string", "null"], "format": "email"}),
        FieldKind::Float => json!({"type": ["number", "null"]}),
        FieldKind::Integer => json!({"type": ["integer", "null"]}),
        FieldKind::Bool => json!({"type": ["boolean", "null"]}),
        FieldKind::Date => json!({"type": ["string", "null"], "format": "date"}),
        FieldKind::Timestamp => json!({"type": ["string", "null"], "format": "date-time"}),
        FieldKind::Choice(options) => {
            json!({"type": ["string", "null"], "enum": options.iter().map(|o| Json::from(*o)).chain([Json::Null]).collect::<Vec<_>>()})
        }
        FieldKind::Reference(target) => {
            json!({"type": ["string", "null"], "description": format!("id of a record of {target}")})
        }
    }
}

fn pascal(name: &str) -> String {
    name.split([' ', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

fn entity_schemas(spec: &EntitySpec, schemas: &mut Map<String, Json>) {
    let mut properties = Map::new();
    for field in spec.fields {
        properties.insert(field.name.into(), field_schema(field.kind));
    }
    if spec.custom_fields {
        properties.insert("custom_fields".into(), json!({"type": "object", "description": "Typed custom fields (GET /api/v1/custom_fields)"}));
    }
    let required: Vec<&str> = spec
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let name = pascal(spec.singular);
    schemas.insert(
        format!("{name}Input"),
        json!({"type": "object", "properties": properties.clone(), "required": required, "additionalProperties": false}),
    );
    let mut full = properties;
    full.insert("id".into(), json!({"type": "string"}));
    full.insert(
        "created_at".into(),
        json!({"type": "string", "format": "date-time"}),
    );
    full.insert(
        "updated_at".into(),
        json!({"type": "string", "format": "date-time"}),
    );
    schemas.insert(name, json!({"type": "object", "properties": full}));
}

fn error_responses(codes: &[&str]) -> Map<String, Json> {
    let mut responses = Map::new();
    for code in codes {
        responses.insert(
            (*code).into(),
            json!({"$ref": format!("#/components/responses/Error{code}")}),
        );
    }
    responses
}

fn entity_paths(spec: &EntitySpec, paths: &mut Map<String, Json>) {
    let name = pascal(spec.singular);
    let record = json!({"$ref": format!("#/components/schemas/{name}")});
    let input = json!({"$ref": format!("#/components/schemas/{name}Input")});
    let mut list_parameters = vec![
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}),
        json!({"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page"}),
        json!({"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "a field; -field for descending"}),
        json!({"name": "total", "in": "query", "schema": {"type": "boolean"}, "description": "also count every match"}),
    ];
    for field in spec.fields {
        list_parameters.push(json!({
            "name": field.name, "in": "query", "schema": {"type": "string"},
            "description": format!("equals; or {}[op] with op one of eq, ne, lt, lte, gt, gte, contains, starts_with, in, is_null", field.name)
        }));
    }
    let mut list_responses = error_responses(&["400", "401", "403"]);
    list_responses.insert(
        "200".into(),
        json!({"description": "One page", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "data": {"type": "array", "items": record}, "next_cursor": {"type": ["string", "null"]}, "total": {"type": ["integer", "null"]}}}}}}),
    );
    let mut create_responses = error_responses(&["400", "401", "403", "409", "422"]);
    create_responses.insert(
        "201".into(),
        json!({"description": "Created", "content": {"application/json": {"schema": record}}}),
    );
    paths.insert(
        format!("/api/v1/{}", spec.name),
        json!({
            "get": {"summary": format!("List {}", spec.name), "operationId": format!("list_{}", spec.name), "parameters": list_parameters, "responses": list_responses},
            "post": {"summary": format!("Create a {}", spec.singular), "operationId": format!("create_{}", spec.name),
                     "requestBody": {"required": true, "content": {"application/json": {"schema": input}}}, "responses": create_responses},
        }),
    );
    let id_parameter =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let mut read_responses = error_responses(&["401", "403", "404"]);
    read_responses.insert(
        "200".into(),
        json!({"description": "The record", "content": {"application/json": {"schema": record}}}),
    );
    let mut update_responses = error_responses(&["400", "401", "403", "404", "409", "422"]);
    update_responses.insert("200".into(), json!({"description": "The updated record", "content": {"application/json": {"schema": record}}}));
    let mut delete_responses = error_responses(&["401", "403", "404", "409"]);
    delete_responses.insert("204".into(), json!({"description": "Deleted"}));
    paths.insert(
        format!("/api/v1/{}/{{id}}", spec.name),
        json!({
            "parameters": id_parameter,
            "get": {"summary": format!("Read a {}", spec.singular), "operationId": format!("get_{}", spec.name), "responses": read_responses},
            "patch": {"summary": format!("Change fields of a {} (null clears one)", spec.singular), "operationId": format!("update_{}", spec.name),
                      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}}, "responses": update_responses},
            "delete": {"summary": format!("Delete a {}", spec.singular), "operationId": format!("delete_{}", spec.name), "responses": delete_responses},
        }),
    );
    let mut export_responses = error_responses(&["400", "401", "403"]);
    export_responses.insert("200".into(), json!({"description": "Every visible match", "content": {"text/csv": {}, "application/x-ndjson": {}}}));
    paths.insert(
        format!("/api/v1/{}/export", spec.name),
        json!({"get": {"summary": format!("Export {} as CSV (or ?format=jsonl), with the list's filters", spec.name),
                        "operationId": format!("export_{}", spec.name), "responses": export_responses}}),
    );
}

/// The document.
pub fn document() -> Json {
    let mut schemas = Map::new();
    let mut paths = Map::new();
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "enum": ErrorCode::ALL.iter().map(|code| code.as_str()).collect::<Vec<_>>()},
            "message": {"type": "string"}, "field": {"type": ["string", "null"]}}}}}),
    );
    for spec in schema::ENTITIES {
        entity_schemas(spec, &mut schemas);
        entity_paths(spec, &mut paths);
    }
    for endpoint in SPECIAL_ENDPOINTS {
        let path = endpoint.path;
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let mut responses = error_responses(&["400", "401", "403"]);
        responses.insert(endpoint.success.into(), json!({"description": "Done"}));
        if path == "/api/v1/imports" {
            responses.insert(
                "422".into(),
                json!({"description": "Rejected: nothing written; the report lists every bad row"}),
            );
        }
        if path == "/api/v1/auth/login" {
            responses.insert(
                "429".into(),
                json!({"description": "Too many failed logins"}),
            );
        }
        let mut operation = json!({
            "summary": endpoint.summary,
            "operationId": format!("{}_{}", endpoint.method, path.trim_start_matches("/api/v1/").replace(['/', '{', '}'], "_").trim_matches('_')),
            "responses": responses,
        });
        if path.contains("{id}") {
            operation["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
        }
        if endpoint.takes_body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if endpoint.public {
            operation["security"] = json!([]);
        }
        entry[endpoint.method] = operation;
    }
    let mut responses = Map::new();
    for (code, meaning) in [
        ("400", "Malformed request"),
        ("401", "No valid credentials"),
        ("403", "Not allowed"),
        ("404", "Not found"),
        ("409", "Conflict"),
        ("422", "Invalid values"),
    ] {
        responses.insert(
            format!("Error{code}"),
            json!({"description": meaning, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "salesflow CRM API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Companies, customers, pipelines, deals, activities, products, orders and tags. Every list filters on any field (custom ones too), sorts, pages by cursor and counts; every route enforces the caller's role and token scopes."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "salesflow token create --user EMAIL --scopes read,write"},
                "session": {"type": "apiKey", "in": "cookie", "name": "salesflow_session", "description": "From POST /api/v1/auth/login; unsafe methods also need the X-CSRF-Token header"}
            }
        }
    })
}
