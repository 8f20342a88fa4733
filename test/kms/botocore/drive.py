"""Drives the KMS simulator with botocore (an independent SigV4 signer and JSON 1.1 client).

Usage: SIM_CREDENTIALS=JSON drive.py ENDPOINT REGION CA_FILE
SIM_CREDENTIALS: {"admin": {...}, "client": {...}} with arn/accessKeyId/secretAccessKey (in the
environment, so they never appear in a command line or an error report).
Client-side parameter validation is off, so the simulator's own validation answers.
Prints one JSON object with what each call returned or the error code it raised.
"""
import base64
import json
import sys

import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, region, ca = sys.argv[1:4]
creds = json.loads(os.environ["SIM_CREDENTIALS"])


def client(role):
    c = creds[role]
    return boto3.client(
        "kms", endpoint_url=endpoint, region_name=region, verify=ca,
        aws_access_key_id=c["accessKeyId"], aws_secret_access_key=c["secretAccessKey"],
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def error_of(call):
    try:
        call()
        return None
    except ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"].get("Message", "")}


admin, producer = client("admin"), client("client")
out = {}

key = admin.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
sig = admin.sign(KeyId=key, Message=b"botocore", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
out["signatureValid"] = admin.verify(KeyId=key, Message=b"botocore", Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"]
out["badSignature"] = error_of(lambda: admin.verify(KeyId=key, Message=b"other", Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256"))
out["publicKey"] = base64.b64encode(admin.get_public_key(KeyId=key)["PublicKey"]).decode()
out["signature"] = base64.b64encode(sig).decode()

hmac = admin.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
mac = admin.generate_mac(KeyId=hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
out["macValid"] = admin.verify_mac(KeyId=hmac, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]

sym = admin.create_key(Tags=[{"TagKey": "team", "TagValue": "cards"}])["KeyMetadata"]["Arn"]
out["tags"] = admin.list_resource_tags(KeyId=sym)["Tags"]
out["awsTag"] = error_of(lambda: admin.tag_resource(KeyId=sym, Tags=[{"TagKey": "aws:x", "TagValue": "y"}]))
blob = admin.encrypt(KeyId=sym, Plaintext=b"secret")["CiphertextBlob"]
out["producerDecrypt"] = error_of(lambda: producer.decrypt(CiphertextBlob=blob))
grant = admin.create_grant(KeyId=sym, GranteePrincipal=creds["client"]["arn"], Operations=["Decrypt"])
out["grantDecrypt"] = producer.decrypt(CiphertextBlob=blob, GrantTokens=[grant["GrantToken"]])["Plaintext"].decode()
out["randomZero"] = error_of(lambda: admin.generate_random(NumberOfBytes=0))
print(json.dumps(out))
