import java.io.InputStream;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import org.w3c.dom.ls.LSInput;
import org.w3c.dom.ls.LSResourceResolver;

/**
 * Validates an XML file against the OASIS SAML 2.0 metadata schema, which the OpenSAML
 * jars on the classpath carry (with the XML Signature and Encryption schemas it imports).
 * Every import is read from the classpath; nothing is fetched. Prints "valid" or the error.
 */
public class ValidateMetadata {
  public static void main(String[] args) throws Exception {
    SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
    factory.setResourceResolver(new ClasspathResolver());
    Schema schema = factory.newSchema(new StreamSource(resource("saml-schema-metadata-2.0.xsd"), "classpath:/schema/saml-schema-metadata-2.0.xsd"));
    Validator validator = schema.newValidator();
    validator.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
    try {
      validator.validate(new StreamSource(new StringReader(Files.readString(Path.of(args[0])))));
      System.out.println("valid");
    } catch (org.xml.sax.SAXException e) {
      System.out.println("invalid: " + e.getMessage());
      System.exit(1);
    }
  }

  static InputStream resource(String name) {
    InputStream in = ValidateMetadata.class.getResourceAsStream("/schema/" + name);
    if (in == null) throw new IllegalStateException("no schema " + name + " on the classpath");
    return in;
  }

  /** Imports and DTDs from the jars' schema/ folder (a DTD a schema names is read as empty). */
  static class ClasspathResolver implements LSResourceResolver {
    public LSInput resolveResource(String type, String ns, String publicId, String systemId, String baseUri) {
      String name = systemId == null ? "" : systemId.substring(systemId.lastIndexOf('/') + 1);
      InputStream in = name.endsWith(".xsd") ? ValidateMetadata.class.getResourceAsStream("/schema/" + name) : new java.io.ByteArrayInputStream(new byte[0]);
      return new Input(in, publicId, systemId, baseUri);
    }
  }

  record Input(InputStream byteStream, String publicId, String systemId, String baseURI) implements LSInput {
    public java.io.Reader getCharacterStream() { return null; }
    public void setCharacterStream(java.io.Reader r) {}
    public InputStream getByteStream() { return byteStream; }
    public void setByteStream(InputStream s) {}
    public String getStringData() { return null; }
    public void setStringData(String s) {}
    public String getSystemId() { return systemId; }
    public void setSystemId(String s) {}
    public String getPublicId() { return publicId; }
    public void setPublicId(String s) {}
    public String getBaseURI() { return baseURI; }
    public void setBaseURI(String s) {}
    public String getEncoding() { return null; }
    public void setEncoding(String s) {}
    public boolean getCertifiedText() { return false; }
    public void setCertifiedText(boolean b) {}
  }
}
