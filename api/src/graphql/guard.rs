//! One check over every string of a mutation's input (issue 16 item 2): ids, names, numbers,
//! URLs, tokens, at any depth. A control character (NUL included, which PostgreSQL refuses in
//! `text`) is answered `VALIDATION_FAILED` naming the field, before the service runs, so
//! nothing is read or written. Each mutation calls [`check`] on its `input` and runs its
//! service call through [`Guard::run`]; the field rules themselves stay in the services.

use std::future::Future;

use async_graphql::{InputType, Value};

use crate::service::{ErrorCode, ServiceError, ServiceResult, UserError, text};

/// What [`check`] found: the refusals of one input, empty when every string is clean.
#[must_use = "run the service call through the guard"]
pub struct Guard(Vec<UserError>);

/// Walks every string of `input` (the GraphQL names of its fields, list items by index).
pub fn check<T: InputType>(input: &T) -> Guard {
    let mut refused = Vec::new();
    walk(&input.to_value(), &mut Vec::new(), &mut refused);
    Guard(refused)
}

fn walk(value: &Value, path: &mut Vec<String>, refused: &mut Vec<UserError>) {
    match value {
        Value::String(s) => {
            if let Err(e) = text::no_control(s) {
                let field: Vec<&str> = path.iter().map(String::as_str).collect();
                refused.push(UserError::new(ErrorCode::ValidationFailed, &field, e.to_string()));
            }
        }
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(item, path, refused);
                path.pop();
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                path.push(name.to_string());
                walk(item, path, refused);
                path.pop();
            }
        }
        _ => {}
    }
}

impl Guard {
    /// Runs `work` when the input was clean; otherwise answers the refusals without polling it.
    pub async fn run<T>(self, work: impl Future<Output = ServiceResult<T>>) -> ServiceResult<T> {
        if self.0.is_empty() {
            work.await
        } else {
            Err(ServiceError::Rejected(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{ID, InputObject};

    use super::*;

    #[derive(InputObject)]
    struct Row {
        name: String,
        note: Option<String>,
    }

    #[derive(InputObject)]
    struct Input {
        account_id: ID,
        rows: Vec<Row>,
    }

    #[tokio::test]
    async fn control_characters_anywhere_are_refused_with_their_path() {
        let input = Input {
            account_id: ID("QQ\u{0}".into()),
            rows: vec![
                Row {
                    name: "Ada".into(),
                    note: None,
                },
                Row {
                    name: "Bob".into(),
                    note: Some("a\u{7}".into()),
                },
            ],
        };
        let ran = std::sync::atomic::AtomicBool::new(false);
        let result = check(&input)
            .run(async {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        let Err(ServiceError::Rejected(errors)) = result else {
            panic!("refused: {result:?}");
        };
        let fields: Vec<Vec<String>> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                vec!["accountId".to_owned()],
                vec!["rows".into(), "1".into(), "note".into()]
            ]
        );
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "the service never ran");

        let clean = Input {
            account_id: ID("QQ".into()),
            rows: vec![],
        };
        assert!(check(&clean).run(async { Ok(1) }).await.is_ok());
    }
}
