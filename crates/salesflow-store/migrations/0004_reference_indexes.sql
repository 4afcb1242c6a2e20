-- Lookups by a reference that had no index: deleting a product checks its order lines (and a
-- product's sales read them), deleting a tag removes its taggings. Both tables grow with the
-- business, so without these a delete scans them.
CREATE INDEX order_lines_product ON order_lines (product_id);
CREATE INDEX taggings_tag ON taggings (tag_id);
