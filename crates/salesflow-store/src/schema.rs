//! The CRM's entities described as data: which table, which fields of which kind, who owns a
//! row. Every generic operation (create, update, list, filter, sort, import) is driven by
//! these descriptions, and every identifier that reaches SQL comes from them — never from
//! the request — which is what keeps filters and sorts safe from injection.

/// What a field holds, and so how it is validated, bound and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// An e-mail address (stored lower-cased).
    Email,
    /// A real number (amounts, probabilities, scores).
    Float,
    /// A whole number.
    Integer,
    /// true / false.
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A moment, stored as RFC 3339 UTC text so it sorts and compares the same in both databases.
    Timestamp,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
    /// The id of a row of another entity (by its API name).
    Reference(&'static str),
}

impl FieldKind {
    /// The kind's name in errors and in the OpenAPI document.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Email => "email",
            FieldKind::Float => "number",
            FieldKind::Integer => "integer",
            FieldKind::Bool => "boolean",
            FieldKind::Date => "date",
            FieldKind::Timestamp => "timestamp",
            FieldKind::Choice(_) => "choice",
            FieldKind::Reference(_) => "reference",
        }
    }
}

/// One column of an entity.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Column and API name.
    pub name: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// Must be present on create and may not be set to null.
    pub required: bool,
    /// No two rows may share a non-null value (checked before writing, for a clear error).
    pub unique: bool,
}

const fn field(name: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required: false,
        unique: false,
    }
}

const fn required(name: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required: true,
        unique: false,
    }
}

const fn unique(name: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required: false,
        unique: true,
    }
}

/// How the rows of an entity are owned, which decides what a `sales` user may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Shared reference data (products, pipelines, tags): everyone reads it.
    Shared,
    /// The row's `owner_id` is a user; sales users see their own and their team's rows.
    Owner,
    /// Visible when the row this field references is visible (an order through its customer).
    Through(&'static str, &'static str),
    /// Attached to any record by `record_type` and `record_id` (a tagging): visible when that
    /// record is.
    Attached,
}

/// An entity of the CRM.
#[derive(Debug)]
pub struct EntitySpec {
    /// API name and table name (plural: `customers`).
    pub name: &'static str,
    /// Singular, for messages.
    pub singular: &'static str,
    /// The columns a client writes (besides `id`, `custom_fields` and the timestamps).
    pub fields: &'static [FieldSpec],
    /// Who may see a row.
    pub ownership: Ownership,
    /// The fields `search` matches (case-insensitive substring).
    pub search_fields: &'static [&'static str],
    /// Whether rows carry typed custom fields.
    pub custom_fields: bool,
    /// Whether rows can be imported from files (and so carry the `import_id` undo needs).
    pub importable: bool,
}

impl EntitySpec {
    /// The field of this name.
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The position of field `name` among the fields (and a row's values). For names written
    /// in the code: panics when the entity has no such field.
    pub fn index(&self, name: &str) -> usize {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .unwrap_or_else(|| panic!("{} have no field {name}", self.name))
    }

    /// Whether rows have an `owner_id`.
    pub fn has_owner(&self) -> bool {
        self.ownership == Ownership::Owner
    }
}

/// Stage kinds: open stages are the pipeline's steps, won and lost end it.
pub const STAGE_KINDS: &[&str] = &["open", "won", "lost"];
/// Activity kinds.
pub const ACTIVITY_KINDS: &[&str] = &["note", "task", "call", "meeting"];
/// Entities an activity or a tag may be attached to.
pub const ATTACHABLE: &[&str] = &["companies", "customers", "deals", "orders"];

use FieldKind::*;

/// Companies (accounts).
pub static COMPANIES: EntitySpec = EntitySpec {
    name: "companies",
    singular: "company",
    fields: &[
        unique("external_id", Text),
        required("name", Text),
        field("domain", Text),
        field("industry", Text),
        field("employees", Integer),
        field("country", Text),
        field("owner_id", Reference("users")),
    ],
    ownership: Ownership::Owner,
    search_fields: &["name", "domain"],
    custom_fields: true,
    importable: true,
};

/// Customers: the people a company sells to, and where the analytics write their scores.
pub static CUSTOMERS: EntitySpec = EntitySpec {
    name: "customers",
    singular: "customer",
    fields: &[
        unique("external_id", Text),
        required("name", Text),
        field("email", Email),
        field("phone", Text),
        field("company_id", Reference("companies")),
        field("owner_id", Reference("users")),
        field("segment", Text),
        field("clv", Float),
        field("p_alive", Float),
        field("next_action", Text),
        field("scored_at", Timestamp),
    ],
    ownership: Ownership::Owner,
    search_fields: &["name", "email"],
    custom_fields: true,
    importable: true,
};

/// Pipelines: each an ordered list of stages.
pub static PIPELINES: EntitySpec = EntitySpec {
    name: "pipelines",
    singular: "pipeline",
    fields: &[
        FieldSpec {
            name: "name",
            kind: Text,
            required: true,
            unique: true,
        },
        field("position", Integer),
    ],
    ownership: Ownership::Shared,
    search_fields: &["name"],
    custom_fields: false,
    importable: false,
};

/// Stages of a pipeline, with the probability a deal there is won.
pub static STAGES: EntitySpec = EntitySpec {
    name: "stages",
    singular: "stage",
    fields: &[
        required("pipeline_id", Reference("pipelines")),
        required("name", Text),
        required("position", Integer),
        field("probability", Float),
        required("kind", Choice(STAGE_KINDS)),
    ],
    ownership: Ownership::Shared,
    search_fields: &["name"],
    custom_fields: false,
    importable: false,
};

/// Why deals are lost.
pub static LOST_REASONS: EntitySpec = EntitySpec {
    name: "lost_reasons",
    singular: "lost reason",
    fields: &[FieldSpec {
        name: "name",
        kind: Text,
        required: true,
        unique: true,
    }],
    ownership: Ownership::Shared,
    search_fields: &["name"],
    custom_fields: false,
    importable: false,
};

/// Deals moving through a pipeline's stages.
pub static DEALS: EntitySpec = EntitySpec {
    name: "deals",
    singular: "deal",
    fields: &[
        unique("external_id", Text),
        required("name", Text),
        required("pipeline_id", Reference("pipelines")),
        required("stage_id", Reference("stages")),
        field("amount", Float),
        field("currency", Text),
        field("customer_id", Reference("customers")),
        field("company_id", Reference("companies")),
        field("owner_id", Reference("users")),
        field("expected_close", Date),
        field("closed_at", Timestamp),
        field("lost_reason_id", Reference("lost_reasons")),
    ],
    ownership: Ownership::Owner,
    search_fields: &["name"],
    custom_fields: true,
    importable: true,
};

/// Notes, tasks, calls and meetings on any record.
pub static ACTIVITIES: EntitySpec = EntitySpec {
    name: "activities",
    singular: "activity",
    fields: &[
        required("kind", Choice(ACTIVITY_KINDS)),
        required("subject", Text),
        field("body", Text),
        field("due_at", Timestamp),
        field("done", Bool),
        required("record_type", Choice(ATTACHABLE)),
        required("record_id", Text),
        field("owner_id", Reference("users")),
    ],
    ownership: Ownership::Owner,
    search_fields: &["subject"],
    custom_fields: true,
    importable: true,
};

/// What the company sells.
pub static PRODUCTS: EntitySpec = EntitySpec {
    name: "products",
    singular: "product",
    fields: &[
        unique("sku", Text),
        required("name", Text),
        field("category", Text),
        field("price", Float),
    ],
    ownership: Ownership::Shared,
    search_fields: &["name", "sku"],
    custom_fields: true,
    importable: true,
};

/// Orders of customers: the analytics' main input.
pub static ORDERS: EntitySpec = EntitySpec {
    name: "orders",
    singular: "order",
    fields: &[
        unique("external_id", Text),
        required("customer_id", Reference("customers")),
        required("ordered_at", Timestamp),
        required("amount", Float),
        field("status", Text),
        field("currency", Text),
        field("channel", Text),
    ],
    ownership: Ownership::Through("customer_id", "customers"),
    search_fields: &["external_id"],
    custom_fields: true,
    importable: true,
};

/// The products of an order.
pub static ORDER_LINES: EntitySpec = EntitySpec {
    name: "order_lines",
    singular: "order line",
    fields: &[
        required("order_id", Reference("orders")),
        field("product_id", Reference("products")),
        required("quantity", Float),
        required("unit_price", Float),
    ],
    ownership: Ownership::Through("order_id", "orders"),
    search_fields: &[],
    custom_fields: false,
    importable: true,
};

/// Tags, attached to records through taggings.
pub static TAGS: EntitySpec = EntitySpec {
    name: "tags",
    singular: "tag",
    fields: &[FieldSpec {
        name: "name",
        kind: Text,
        required: true,
        unique: true,
    }],
    ownership: Ownership::Shared,
    search_fields: &["name"],
    custom_fields: false,
    importable: false,
};

/// A tag on a record.
pub static TAGGINGS: EntitySpec = EntitySpec {
    name: "taggings",
    singular: "tagging",
    fields: &[
        required("tag_id", Reference("tags")),
        required("record_type", Choice(ATTACHABLE)),
        required("record_id", Text),
    ],
    ownership: Ownership::Attached,
    search_fields: &[],
    custom_fields: false,
    importable: false,
};

/// Every entity served by the generic record operations, in dependency order.
pub static ENTITIES: &[&EntitySpec] = &[
    &COMPANIES,
    &CUSTOMERS,
    &PIPELINES,
    &STAGES,
    &LOST_REASONS,
    &DEALS,
    &ACTIVITIES,
    &PRODUCTS,
    &ORDERS,
    &ORDER_LINES,
    &TAGS,
    &TAGGINGS,
];

/// The entity of this API name.
pub fn entity(name: &str) -> Option<&'static EntitySpec> {
    ENTITIES.iter().copied().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_known_entities() {
        for entity_spec in ENTITIES {
            for field_spec in entity_spec.fields {
                if let FieldKind::Reference(target) = field_spec.kind {
                    assert!(
                        target == "users" || entity(target).is_some(),
                        "{}.{} references unknown {target}",
                        entity_spec.name,
                        field_spec.name
                    );
                }
            }
            if let Ownership::Through(field_name, target) = entity_spec.ownership {
                assert!(entity_spec.field(field_name).is_some());
                assert!(entity(target).is_some());
            }
        }
    }
}
