# The coordinator page's list of announcements sent (issue 19).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0003_booking_window_row'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Announcement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('author_name', models.CharField(max_length=150, verbose_name='by')),
                ('message', models.CharField(max_length=1000)),
                ('audience', models.CharField(max_length=200, verbose_name='to')),
                ('recipients', models.PositiveIntegerField(verbose_name='students told')),
                ('by_email', models.PositiveIntegerField(verbose_name='emailed')),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
    ]
