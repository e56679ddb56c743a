//! Unit tests of [`Live`](super::Live): delivery order, overflow, wake-ups and the limits.

#![allow(clippy::expect_used)]

use entity::event::{Event, Logged};

use super::{feed::IDLE_CAPACITY, *};

fn delivery(n: i64) -> Arc<Delivery> {
    Arc::new(Delivery {
        event: Logged {
            position: n,
            id: Uuid::now_v7(),
            account_id: None,
            aggregate_id: Uuid::nil(),
            actor: "support:test".into(),
            occurred_at: chrono::Utc::now(),
            txid: 0,
            event: Event::ActiveStatusChanged(entity::event::ActiveStatusChanged {
                active_status_id: None,
                active_remote_extension_id: None,
                previous_status_id: None,
                reason: None,
            }),
            traceparent: None,
        },
        subjects: Vec::new(),
        objects: Arc::default(),
        shared: Shared::default(),
    })
}

fn live(buffer: usize, per_connection: usize, per_token: usize) -> Live {
    Live::new(Subscriptions {
        buffer,
        max_per_connection: per_connection,
        max_per_token: per_token,
        ..Default::default()
    })
}

#[tokio::test]
async fn a_subscriber_gets_its_topics_events_in_order() {
    let live = live(8, 10, 10);
    let user = Uuid::now_v7();
    let mut mine = live.subscribe(Topic::ActiveStatus(user), None).expect("subscribe");
    let mut other = live
        .subscribe(Topic::ActiveStatus(Uuid::now_v7()), None)
        .expect("subscribe");
    live.dispatch(&[
        (vec![Topic::ActiveStatus(user)], delivery(1)),
        (vec![Topic::ActiveStatus(user)], delivery(2)),
    ]);
    for want in [1, 2] {
        match mine.next().await {
            Next::Event(d) => assert_eq!(d.event.position, want),
            other => panic!("expected an event, got {other:?}"),
        }
    }
    live.stop();
    assert!(matches!(other.next().await, Next::Closed));
}

#[tokio::test]
async fn a_full_queue_drops_the_subscriber_with_a_reason() {
    let live = live(2, 10, 10);
    let topic = Topic::UserNumbers(Uuid::now_v7());
    let mut slow = live.subscribe(topic, None).expect("subscribe");
    for n in 1..=3 {
        live.dispatch(&[(vec![topic], delivery(n))]);
    }
    assert!(!live.watched(&topic), "the slow subscriber is gone");
    assert!(matches!(slow.next().await, Next::Event(_)));
    assert!(matches!(slow.next().await, Next::Event(_)));
    assert!(matches!(slow.next().await, Next::Overflowed));
}

#[tokio::test]
async fn a_waiting_feed_is_woken_by_a_delivery_and_by_the_stop() {
    let live = live(8, 10, 10);
    let topic = Topic::ActiveStatus(Uuid::now_v7());
    let mut feed = live.subscribe(topic, None).expect("subscribe");
    let waiting = tokio::spawn(async move {
        let first = feed.next().await;
        let second = feed.next().await;
        (first, second, feed)
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    live.dispatch(&[(vec![topic], delivery(1))]);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    live.stop();
    let (first, second, _) = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("woken")
        .expect("joined");
    assert!(matches!(&first, Next::Event(d) if d.event.position == 1), "{first:?}");
    assert!(matches!(second, Next::Closed), "{second:?}");
}

#[tokio::test]
async fn what_waits_is_taken_before_the_end_and_a_burst_leaves_no_room_behind() {
    let live = live(64, 10, 10);
    let topic = Topic::UserNumbers(Uuid::now_v7());
    let mut feed = live.subscribe(topic, None).expect("subscribe");
    for n in 1..=40 {
        live.dispatch(&[(vec![topic], delivery(n))]);
    }
    assert!(feed.queue.lock().deliveries.capacity() >= 40);
    live.stop();
    for want in 1..=40 {
        match feed.next().await {
            Next::Event(d) => assert_eq!(d.event.position, want),
            other => panic!("expected event {want}, got {other:?}"),
        }
    }
    assert!(feed.queue.lock().deliveries.capacity() <= IDLE_CAPACITY);
    assert!(matches!(feed.next().await, Next::Closed));
}

#[test]
fn limits_per_connection_and_per_token_are_released_on_drop() {
    let live = live(4, 2, 3);
    let a = Connection::new("user:a".into());
    let b = Connection::new("user:a".into());
    let topic = Topic::Mobility(Uuid::now_v7());
    let first = live.subscribe(topic, Some(&a)).expect("1");
    let _second = live.subscribe(topic, Some(&a)).expect("2");
    assert_eq!(live.subscribe(topic, Some(&a)).err(), Some(LimitError::Connection(2)));
    let _third = live.subscribe(topic, Some(&b)).expect("3");
    assert_eq!(live.subscribe(topic, Some(&b)).err(), Some(LimitError::Token(3)));
    drop(first);
    assert_eq!(a.open(), 1);
    assert!(live.subscribe(topic, Some(&b)).is_ok());
    assert_eq!(live.watchers(&topic), 2);
}
