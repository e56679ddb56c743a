//! The schema walked for the generated T1 test (`tenancy::generated`): every mutation and
//! subscription with its arguments, the input objects they take, the ID fields in them and the
//! kind of object each names. An ID field missing from the kind table fails the test, so a new
//! mutation or a new id cannot slip past the tenant rule unchecked.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use api::graphql::ids::Kind;
use serde_json::{Value, json};

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name } } } } }";

const INTROSPECTION: &str = "{ __schema { mutationType { name } subscriptionType { name }
    types { name kind enumValues { name }
      fields { name args { name type { ...T } } type { ...T } }
      inputFields { name type { ...T } } } } }";

/// A type reference: `NON_NULL`, `LIST`, or a named type with its kind.
#[derive(Clone, Debug)]
pub enum Ty {
    NonNull(Box<Ty>),
    List(Box<Ty>),
    Named { kind: String, name: String },
}

impl Ty {
    fn parse(v: &Value) -> Ty {
        match v["kind"].as_str().unwrap() {
            "NON_NULL" => Ty::NonNull(Box::new(Ty::parse(&v["ofType"]))),
            "LIST" => Ty::List(Box::new(Ty::parse(&v["ofType"]))),
            kind => Ty::Named {
                kind: kind.to_owned(),
                name: v["name"].as_str().unwrap().to_owned(),
            },
        }
    }

    /// The named type under any wrappers.
    pub fn named(&self) -> (&str, &str) {
        match self {
            Ty::NonNull(t) | Ty::List(t) => t.named(),
            Ty::Named { kind, name } => (kind, name),
        }
    }

    /// Written as in a GraphQL document (`[ID!]!`).
    pub fn sdl(&self) -> String {
        match self {
            Ty::NonNull(t) => format!("{}!", t.sdl()),
            Ty::List(t) => format!("[{}]", t.sdl()),
            Ty::Named { name, .. } => name.clone(),
        }
    }
}

/// An argument, an input field or an output field.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub args: Vec<Field>,
}

impl Field {
    fn parse(v: &Value) -> Field {
        let args = v["args"].as_array().into_iter().flatten().map(Field::parse).collect();
        Field {
            name: v["name"].as_str().unwrap().to_owned(),
            ty: Ty::parse(&v["type"]),
            args,
        }
    }

    fn required(&self) -> bool {
        matches!(self.ty, Ty::NonNull(_))
    }
}

/// What the test needs of the schema.
pub struct Schema {
    /// The mutation fields, in schema order.
    pub mutations: Vec<Field>,
    /// The subscription fields, in schema order.
    pub subscriptions: Vec<Field>,
    fields: HashMap<String, Vec<Field>>,
    enums: HashMap<String, Vec<String>>,
}

impl Schema {
    /// Introspects the very schema the server runs (`api::graphql::schema()`).
    pub async fn load() -> Schema {
        let response = api::graphql::schema()
            .execute(format!("{INTROSPECTION} {TYPE_REF}"))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = response.data.into_json().unwrap();
        let s = &data["__schema"];
        let mut fields: HashMap<String, Vec<Field>> = HashMap::new();
        let mut enums = HashMap::new();
        for t in s["types"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap().to_owned();
            let list = t["fields"].as_array().or(t["inputFields"].as_array());
            fields.insert(name.clone(), list.into_iter().flatten().map(Field::parse).collect());
            if let Some(values) = t["enumValues"].as_array() {
                enums.insert(
                    name,
                    values.iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect(),
                );
            }
        }
        let root = |key: &str| fields[s[key]["name"].as_str().unwrap()].clone();
        Schema {
            mutations: root("mutationType"),
            subscriptions: root("subscriptionType"),
            fields,
            enums,
        }
    }

    /// The fields of object or input type `name`.
    pub fn fields(&self, name: &str) -> &[Field] {
        &self.fields[name]
    }

    /// Whether a value of `ty` holds an ID somewhere.
    fn holds_id(&self, ty: &Ty) -> bool {
        match ty.named() {
            ("SCALAR", "ID") => true,
            ("INPUT_OBJECT", name) => self.fields(name).iter().any(|f| self.holds_id(&f.ty)),
            _ => false,
        }
    }

    /// The paths (`mutation.field.subfield`) of every ID in the arguments of `op`. The
    /// `input` argument of a mutation is left out of the path.
    pub fn id_paths(&self, op: &Field) -> Vec<String> {
        let mut out = Vec::new();
        for arg in &op.args {
            self.collect_ids(&arg.ty, &prefix(op, arg), &mut out);
        }
        out
    }

    fn collect_ids(&self, ty: &Ty, path: &str, out: &mut Vec<String>) {
        match ty.named() {
            ("SCALAR", "ID") => out.push(path.to_owned()),
            ("INPUT_OBJECT", name) => {
                for f in self.fields(name) {
                    self.collect_ids(&f.ty, &format!("{path}.{}", f.name), out);
                }
            }
            _ => {}
        }
    }

    /// The variables of `op`: its required arguments and every one holding an ID, filled with
    /// plausible values and each ID with `id(path)`.
    pub fn variables(&self, op: &Field, id: &dyn Fn(&str) -> String) -> Value {
        let mut vars = serde_json::Map::new();
        for arg in op.args.iter().filter(|a| a.required() || self.holds_id(&a.ty)) {
            vars.insert(arg.name.clone(), self.value(&arg.ty, &prefix(op, arg), id));
        }
        Value::Object(vars)
    }

    fn value(&self, ty: &Ty, path: &str, id: &dyn Fn(&str) -> String) -> Value {
        let field = path.rsplit('.').next().unwrap();
        match ty {
            Ty::NonNull(t) => self.value(t, path, id),
            Ty::List(t) => json!([self.value(t, path, id)]),
            Ty::Named { kind, name } => match (kind.as_str(), name.as_str()) {
                ("SCALAR", "ID") => json!(id(path)),
                ("SCALAR", "String") => json!(text(path)),
                ("SCALAR", "Int") => json!(1),
                ("SCALAR", "Float") => json!(1.0),
                ("SCALAR", "Boolean") => json!(field == "confirmPurchase"),
                ("ENUM", _) => {
                    let values = &self.enums[name];
                    let wanted = match field {
                        "kind" => "NUMBER",
                        "role" => "PHONE_MANAGER",
                        _ => values[0].as_str(),
                    };
                    assert!(values.iter().any(|v| v == wanted), "{path}: no {wanted} in {name}");
                    json!(wanted)
                }
                ("INPUT_OBJECT", _) => {
                    let mut obj = serde_json::Map::new();
                    for f in self.fields(name) {
                        if f.required() || self.holds_id(&f.ty) {
                            let value = self.value(&f.ty, &format!("{path}.{}", f.name), id);
                            obj.insert(f.name.clone(), value);
                        }
                    }
                    Value::Object(obj)
                }
                other => panic!("{path}: no value for a {other:?}"),
            },
        }
    }

    /// A selection of `ty` that shows everything an answer carries without following links:
    /// its scalars, `__typename` of the objects it returns, and `userErrors` in full.
    pub fn selection(&self, ty: &Ty) -> String {
        let (_, name) = ty.named();
        let mut parts = vec!["__typename".to_owned()];
        for f in self.fields(name) {
            if f.args.iter().any(Field::required) {
                continue;
            }
            match f.ty.named() {
                _ if f.name == "userErrors" => parts.push("userErrors { field message code }".into()),
                ("SCALAR" | "ENUM", _) => parts.push(f.name.clone()),
                _ => parts.push(format!("{} {{ __typename }}", f.name)),
            }
        }
        format!("{{ {} }}", parts.join(" "))
    }

    /// A document running `op` (`mutation` or `subscription`) with its arguments as variables.
    pub fn document(&self, keyword: &str, op: &Field, vars: &Value) -> String {
        let used: Vec<&Field> = op.args.iter().filter(|a| vars.get(&a.name).is_some()).collect();
        let decl: Vec<String> = used.iter().map(|a| format!("${}: {}", a.name, a.ty.sdl())).collect();
        let pass: Vec<String> = used.iter().map(|a| format!("{0}: ${0}", a.name)).collect();
        let (decl, pass) = if used.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("({})", decl.join(", ")), format!("({})", pass.join(", ")))
        };
        format!("{keyword} T1{decl} {{ {}{pass} {} }}", op.name, self.selection(&op.ty))
    }
}

fn prefix(op: &Field, arg: &Field) -> String {
    if arg.name == "input" {
        op.name.clone()
    } else {
        format!("{}.{}", op.name, arg.name)
    }
}

/// A plausible text for the field at `path`, so that the checks after the ids pass too.
fn text(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap() {
        "number" if path.starts_with("accessNumber") => "+15550009999",
        "number" => "0777",
        "extension" => "7777",
        "mobilityExtension" => "4999",
        "voicemailAccessNumber" => "8991",
        "reverseDialNumber" | "handoverNumber" => "15550001111",
        "mobilityRouter" => "mr9.example.net",
        "email" => "t1@probe.example",
        "phoneNumber" => "+15550002222",
        // Loopback only: nothing here may ever reach the network.
        "baseUrl" => "http://127.0.0.1:1",
        _ => "T1 probe",
    }
}

/// The kinds of object the ID at `path` names (more than one where the field takes several),
/// or `None` when the table does not know it: the test then fails, naming the field.
pub fn kinds_of(path: &str) -> Option<&'static [Kind]> {
    let by_path: Option<&'static [Kind]> = match path {
        "userUpdate.id" => Some(&[Kind::User]),
        "userNumberUpdate.id" | "userNumberDelete.id" => Some(&[Kind::UserNumber]),
        "dynamicStatusUpdate.id"
        | "dynamicStatusDelete.id"
        | "dynamicStatusActivate.id"
        | "dynamicStatusScheduleSet.id" => Some(&[Kind::DynamicStatus]),
        "clientProfileUpdate.id" => Some(&[Kind::ClientProfile]),
        "notificationRetry.id" => Some(&[Kind::NotificationRecipient, Kind::MobilityNotification]),
        "webhookEndpointUpdate.id"
        | "webhookEndpointDelete.id"
        | "webhookEndpointRotateSecret.id"
        | "webhookEndpointTest.id" => Some(&[Kind::WebhookEndpoint]),
        "webhookDeliveryRetry.id" => Some(&[Kind::WebhookDelivery]),
        _ => None,
    };
    by_path.or_else(|| match path.rsplit('.').next().unwrap() {
        "accountId" => Some(&[Kind::Account]),
        "userId" | "userIds" => Some(&[Kind::User]),
        "locationId" => Some(&[Kind::Location]),
        "accessNumberId" => Some(&[Kind::AccessNumber]),
        "clientProfileId" => Some(&[Kind::ClientProfile]),
        "remoteExtensionId" | "numberId" => Some(&[Kind::UserNumber]),
        _ => None,
    })
}
