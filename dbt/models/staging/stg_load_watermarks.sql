-- How far each bronze table is loaded.
select source_table, high_watermark, rows_loaded, loaded_at
from {{ source('bronze', 'bronze_load_watermarks') }}
