"""The lab into a real S3 bucket (SeaweedFS on loopback): every lab key under ``lab/``, the
storefront pointer untouched, and a reviewer's choice recorded in the bucket."""

from __future__ import annotations

import json
from pathlib import Path

from catalog_imagegen.cli.main import main
from catalog_imagegen.lab.experiment import LabSample
from catalog_imagegen.lab.runner import LabRequest, run_lab
from catalog_imagegen.settings import Settings
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.lab.lab_setup import write_drafts, write_lab_catalog

POINTER = b'{"schema_version": 1, "manifest": "manifests/versions/abc.json"}'


def test_lab_into_a_bucket_stays_under_lab_and_records_the_choice(
    s3_env: SeaweedFS, s3_bucket: str, tmp_path: Path, templates_copy: Path
) -> None:
    client = s3_env.client()
    client.put_object(Bucket=s3_bucket, Key="shop/manifests/latest.json", Body=POINTER)
    catalog = write_lab_catalog(tmp_path)
    drafts = write_drafts(tmp_path / "drafts", templates_copy)
    settings = Settings(bucket=s3_bucket, prefix="shop", templates_dir=templates_copy)
    request = LabRequest(str(catalog), (drafts.warm, drafts.tight), sample=LabSample())
    result = run_lab(request, settings)

    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert client.get_object(Bucket=s3_bucket, Key="shop/manifests/latest.json")[
        "Body"
    ].read() == POINTER  # fmt: skip
    assert sorted(k for k in keys if not k.startswith("shop/lab/")) == [
        "shop/manifests/latest.json"
    ]
    assert sum(k.startswith("shop/lab/images/") for k in keys) == 9
    page = client.head_object(Bucket=s3_bucket, Key=f"shop/lab/runs/{result.lab_id}/index.html")
    assert page["ContentType"].startswith("text/html")

    code = main(["lab", "choose", result.lab_id, "product_card.tight", "--note", "tighter crop",
                 "--by", "bob", "--bucket", s3_bucket, "--prefix", "shop"])  # fmt: skip
    assert code == 0
    manifest_key = f"shop/lab/runs/{result.lab_id}/manifest.json"
    document = json.loads(client.get_object(Bucket=s3_bucket, Key=manifest_key)["Body"].read())
    (choice,) = document["choices"]
    assert (choice["version"], choice["by"], choice["note"]) == (
        "product_card.tight", "bob", "tighter crop"
    )  # fmt: skip
    assert document["versions"][2]["template_version"] == choice["template_version"]
