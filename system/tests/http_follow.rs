//! HTTP tests of `PUT`/`DELETE /v1/users/{id}/following/{leader}`: the
//! happy path and idempotence, the authorization matrix (nobody changes
//! another user's follows), self-follow, unknown leaders and bad ids.

mod common;

use axum::http::{Method, StatusCode};
use common::*;

#[tokio::test]
async fn follow_and_unfollow_are_idempotent_and_change_the_graph() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let (aid, bid) = (a.id.to_string(), b.id.to_string());

    let r = follow_call(&env, Method::PUT, &a.token, &aid, &bid).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!({ "changed": true }));
    assert_eq!(env.svc.followees(a.id).await?, vec![b.id]);
    assert_eq!(env.svc.followers_of(b.id).await?, vec![a.id]);
    assert!(!follow(&env, &a, &b).await, "second follow changes nothing");
    assert_eq!(env.svc.stats(b.id).await?.followers, 1, "counted once");
    assert_eq!(env.svc.stats(a.id).await?.following, 1);

    let r = follow_call(&env, Method::DELETE, &a.token, &aid, &bid).await;
    assert_eq!(r.expect(StatusCode::OK).json()["changed"], true);
    assert!(env.svc.followees(a.id).await?.is_empty());
    assert!(env.svc.followers_of(b.id).await?.is_empty());
    let r = follow_call(&env, Method::DELETE, &a.token, &aid, &bid).await;
    assert_eq!(r.expect(StatusCode::OK).json()["changed"], false);
    assert_eq!(env.svc.stats(b.id).await?.followers, 0, "not below zero");
    // Follow again after an unfollow: a change again.
    assert!(follow(&env, &a, &b).await);
    Ok(())
}

#[tokio::test]
async fn nobody_changes_another_users_follows() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let c = create_user(&env, "carol").await;
    assert!(follow(&env, &b, &c).await);
    let (bid, cid, aid) = (b.id.to_string(), c.id.to_string(), a.id.to_string());
    // A makes B follow A, follow C again, and unfollow C: all 403.
    for (method, leader) in [
        (Method::PUT, &aid),
        (Method::PUT, &cid),
        (Method::DELETE, &cid),
    ] {
        follow_call(&env, method, &a.token, &bid, leader)
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }
    // Even on unknown users and self-looking edges, authorization comes first.
    follow_call(&env, Method::PUT, &a.token, "4242", &cid)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    follow_call(&env, Method::PUT, &a.token, &bid, &bid)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(env.svc.followees(b.id).await?, vec![c.id], "B unchanged");
    assert_eq!(env.svc.followers_of(a.id).await?, Vec::<u64>::new());
    assert_eq!(env.svc.followers_of(c.id).await?, vec![b.id]);
    assert_eq!(env.svc.stats(c.id).await?.followers, 1);
    Ok(())
}

#[tokio::test]
async fn self_follow_is_400_and_unknown_leader_is_404() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let aid = a.id.to_string();
    for method in [Method::PUT, Method::DELETE] {
        follow_call(&env, method.clone(), &a.token, &aid, &aid)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
        for unknown in ["4242", "0", "18446744073709551615"] {
            follow_call(&env, method.clone(), &a.token, &aid, unknown)
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
        }
    }
    assert!(env.svc.followees(a.id).await?.is_empty());
    assert_eq!(env.svc.stats(a.id).await?.following, 0);
    Ok(())
}

#[tokio::test]
async fn bad_ids_in_follow_paths_are_400() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let (aid, bid) = (a.id.to_string(), b.id.to_string());
    for method in [Method::PUT, Method::DELETE] {
        for bad in BAD_IDS {
            for (who, leader) in [(aid.as_str(), *bad), (*bad, bid.as_str())] {
                let r = follow_call(&env, method.clone(), &a.token, who, leader).await;
                // A bad follower id is never the caller: 400 (parse) comes
                // before the 403 check, and a bad leader is a 400.
                r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
            }
        }
        // Empty ids: a 400 in the middle of the path, no route at the end.
        let uri = format!("/v1/users//following/{bid}");
        call(
            &env.write,
            req(
                method.clone(),
                &uri,
                Some(&a.token),
                axum::body::Body::empty(),
            ),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
        let uri = format!("/v1/users/{aid}/following/");
        call(
            &env.write,
            req(
                method.clone(),
                &uri,
                Some(&a.token),
                axum::body::Body::empty(),
            ),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
        // `..` followed by more segments does not match the route at all.
        for uri in [
            format!("/v1/users/{aid}/following/../x"),
            format!("/v1/users/{aid}/following/../../{bid}"),
            format!("/v1/users/../../following/{bid}"),
        ] {
            let r = call(
                &env.write,
                req(
                    method.clone(),
                    &uri,
                    Some(&a.token),
                    axum::body::Body::empty(),
                ),
            )
            .await;
            r.expect_error(StatusCode::NOT_FOUND, "not_found");
        }
    }
    assert!(
        env.svc.followees(a.id).await?.is_empty(),
        "nothing followed"
    );
    Ok(())
}
