"""WooCommerce: webhooks, REST connection, backfill and reconciliation (app label ``woocommerce``)."""
