-- Produced by ml_recommendation_features.build_interactions.
CREATE TABLE IF NOT EXISTS lake.ml_user_item_interactions (
    customer_id          BIGINT,
    product_id           BIGINT,
    product_views        BIGINT,
    add_to_cart          BIGINT,
    purchases            BIGINT,
    last_interaction_at  TIMESTAMP,
    dt                   STRING
)
USING parquet
PARTITIONED BY (dt);
