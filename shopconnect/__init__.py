"""ShopConnect: self-hosted behavioral email marketing for Shopify and WooCommerce stores."""
