{#- Rows whose combination of `columns` is not unique. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Rows where `column_name` is null or outside [min_value, max_value]. -#}
{% test within(model, column_name, min_value, max_value=none) %}
select *
from {{ model }}
where {{ column_name }} is null
   or {{ column_name }} < {{ min_value }}
   {% if max_value is not none %}or {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}
