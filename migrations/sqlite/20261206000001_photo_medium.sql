-- A third copy of each listing photo, 960 × 720 (4:3, like the gallery's frame), for phones: the
-- listing page offers it in `srcset` next to the display copy, so a phone no longer downloads
-- the 1600 px picture. Photos stored before this have none and are shown as before.
ALTER TABLE listing_photos ADD COLUMN medium_path TEXT;
